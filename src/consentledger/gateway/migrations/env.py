"""Alembic's environment for the gateway database (run by alembic's commands only)."""

from consentledger.gateway.schema_history import JOURNAL_HISTORY
from consentledger.schema_versions import run_environment

run_environment(JOURNAL_HISTORY)
