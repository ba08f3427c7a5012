"""The bureau database's version history: the tables of :mod:`consentledger.bureau.models`,
revisions in ``bureau/migrations/versions``.

A table or column added to the models gets a revision there too (``tests/bureau/
test_schema_versions.py`` fails while the head revision and the models differ).
"""

from __future__ import annotations

from sqlalchemy.engine import Inspector

from consentledger.schema_versions import SchemaHistory

PREFIX = "bureau_"
#: The tables of the first revision, present in every bureau database since.
_BASELINE_TABLES = frozenset(
    PREFIX + name
    for name in (
        "administrative_record",
        "arrears",
        "court_record",
        "customs_registration",
        "customs_year",
        "data_source",
        "enterprise",
        "financial_statement",
        "high_tech_certificate",
        "intellectual_property",
        "meta",
        "monthly",
        "shareholder",
        "tax_year",
    )
)


def _owns(table: str) -> bool:
    """The bureau's tables are all ``bureau_``-prefixed (it may share a database)."""
    return table.startswith(PREFIX)


def _recognise(inspector: Inspector) -> str:
    """The revision a bureau database from before schema versions matches: ``create_all`` made
    it, with the tables and columns of the models of its day."""
    tables = set(inspector.get_table_names())
    missing = _BASELINE_TABLES - tables
    if missing:
        raise LookupError(f"no {', '.join(sorted(missing))} table")
    if "bureau_feed_record" in tables:
        return "b0004"
    administrative = {c["name"] for c in inspector.get_columns("bureau_administrative_record")}
    if "minor" in administrative:
        return "b0003"
    if "bureau_annual_report" in tables:
        return "b0002"
    return "b0001"


BUREAU_HISTORY = SchemaHistory(
    name="bureau",
    package="consentledger.bureau.migrations",
    version_table="bureau_schema_version",
    marker_table="bureau_enterprise",
    owns=_owns,
    recognise=_recognise,
)
