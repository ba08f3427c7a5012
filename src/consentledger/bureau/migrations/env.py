"""Alembic's environment for the bureau database (run by alembic's commands only)."""

from consentledger.bureau.schema_history import BUREAU_HISTORY
from consentledger.schema_versions import run_environment

run_environment(BUREAU_HISTORY)
