"""The gateway database's schema versions (Alembic script location; see
:mod:`consentledger.gateway.schema_history`)."""
