"""The gateway database's version history: the journal's tables
(:mod:`consentledger.journal.schema`) and the gateway's own (banks, sign-in nonces), revisions in
``gateway/migrations/versions``.

A table or column added to the models gets a revision there too (``tests/gateway/
test_schema_versions.py`` fails while the head revision and the models differ).
"""

from __future__ import annotations

from sqlalchemy.engine import Inspector

from consentledger.schema_versions import SchemaHistory

#: The tables of the first revision, present in every gateway database since.
_BASELINE_TABLES = frozenset({"banks", "batches", "batch_replacements", "journal", "signin_nonces"})


def _owns(table: str) -> bool:
    """Every table but the bureau's (the two may share a database)."""
    return not table.startswith("bureau_")


def _recognise(inspector: Inspector) -> str:
    """The revision a gateway database from before schema versions matches: ``create_all`` made
    its tables, then the gateway added the relayer columns (``j0002``) and the signed-request
    columns (``j0003``) in place."""
    missing = _BASELINE_TABLES - set(inspector.get_table_names())
    if missing:
        raise LookupError(f"no {', '.join(sorted(missing))} table")
    journal = {column["name"] for column in inspector.get_columns("journal")}
    batches = {column["name"] for column in inspector.get_columns("batches")}
    relayer = "relayer" in journal and "relayer" in batches
    if "relayer" in journal and not relayer:
        raise LookupError("journal has the relayer column and batches lacks it")
    if "request_id" in journal:
        if not relayer:
            raise LookupError("the signed-request columns without the relayer column")
        return "j0003"
    return "j0002" if relayer else "j0001"


JOURNAL_HISTORY = SchemaHistory(
    name="journal",
    package="consentledger.gateway.migrations",
    version_table="journal_schema_version",
    marker_table="journal",
    owns=_owns,
    recognise=_recognise,
)
