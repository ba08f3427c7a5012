"""Additive migration of a gateway database created before journal rows named their relayer.

``Base.metadata.create_all`` creates missing tables, never missing columns. A database from before
several gateway workers (each with its own relayer key) shared one journal has no ``relayer``
column on ``journal`` and ``batches``; :func:`add_relayer_columns` adds it (nullable, indexed) and
fills it where the row says who its relayer was:

* an entry with a query id: the id's high 160 bits are the relayer's address
  (``uint160(relayer) << 96 | sequence``);
* a batch: the relayer of its entries.

A pending entry never put in a batch (no query id) keeps NULL. It was left by a gateway from
before the column, which had one relayer and is not running any more (it could not have written
the column): :func:`consentledger.gateway.journal_store.reconcile` counts NULL as its own, so the
first worker to start fails it ("not sent before restart"), as that gateway's own restart would
have.
A batch left NULL has no entries, so nothing to settle; reconcile leaves it alone. Every row
written since names its relayer.

Idempotent and safe to run from several processes at once: a column another process added first
is not an error.
"""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

_TABLES = ("journal", "batches")
#: Rows backfilled per UPDATE round trip.
_CHUNK = 1000


def relayer_of_query_id(query_id_hex: str) -> str:
    """The checksummed relayer address in a query id's high 160 bits (0x-hex, 64 digits)."""
    return to_checksum_address(f"0x{int(query_id_hex, 16) >> 96:040x}")


def add_relayer_columns(engine: Engine) -> None:
    """Add the ``relayer`` columns where they are missing and fill what the rows tell (see the
    module doc). The backfill runs at every open (cheap: indexed, and rows written since the
    column name their relayer), so a migration interrupted between the two still completes."""
    for table in _TABLES:
        if _has_relayer(engine, table):
            continue
        try:
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN relayer VARCHAR(42)"))
                connection.execute(
                    text(f"CREATE INDEX IF NOT EXISTS ix_{table}_relayer ON {table} (relayer)")
                )
        except (OperationalError, ProgrammingError):
            if not _has_relayer(engine, table):  # not a concurrent migration: a real failure
                raise
    with engine.begin() as connection:
        _backfill(connection)


def _has_relayer(engine: Engine, table: str) -> bool:
    return "relayer" in {c["name"] for c in inspect(engine).get_columns(table)}


def _backfill(connection: Connection) -> None:
    rows = connection.execute(
        text("SELECT id, query_id FROM journal WHERE relayer IS NULL AND query_id IS NOT NULL")
    ).all()
    updates = [{"id": row.id, "relayer": relayer_of_query_id(row.query_id)} for row in rows]
    for start in range(0, len(updates), _CHUNK):
        connection.execute(
            text("UPDATE journal SET relayer = :relayer WHERE id = :id"),
            updates[start : start + _CHUNK],
        )
    connection.execute(
        text(
            "UPDATE batches SET relayer = (SELECT MIN(journal.relayer) FROM journal "
            "WHERE journal.batch_id = batches.id) WHERE relayer IS NULL"
        )
    )


#: The journal's columns of a bank's signed read request, added to a database from before them.
_REQUEST_COLUMNS: dict[str, str | None] = {
    "request_id": "VARCHAR(20)",
    "request_deadline": "BIGINT",
    "request_signature": None,  # the dialect's binary type
}


def add_request_columns(engine: Engine) -> None:
    """Add the journal's signed-request columns and their unique index where they are missing
    (rows from before signed reads keep NULL). Idempotent and safe to run concurrently."""
    binary = "BLOB" if engine.dialect.name == "sqlite" else "BYTEA"
    for column, kind in _REQUEST_COLUMNS.items():
        if _has_column(engine, "journal", column):
            continue
        sql_type = kind or binary
        try:
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE journal ADD COLUMN {column} {sql_type}"))
        except (OperationalError, ProgrammingError):
            if not _has_column(engine, "journal", column):
                raise
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE UNIQUE INDEX IF NOT EXISTS ix_journal_bank_request "
                "ON journal (bank_address, request_id)"
            )
        )


def add_versions_column(engine: Engine) -> None:
    """Add the journal's ``versions`` column (the record versions a released document was built
    from) where it is missing; rows from before it keep NULL. Idempotent and safe to run
    concurrently."""
    if _has_column(engine, "journal", "versions"):
        return
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE journal ADD COLUMN versions TEXT"))
    except (OperationalError, ProgrammingError):
        if not _has_column(engine, "journal", "versions"):
            raise


def _has_column(engine: Engine, table: str, column: str) -> bool:
    return any(c["name"] == column for c in inspect(engine).get_columns(table))
