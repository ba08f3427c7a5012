"""The bureau database's schema versions (Alembic script location; see
:mod:`consentledger.bureau.schema_history`)."""
