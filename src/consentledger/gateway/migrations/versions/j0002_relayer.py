"""Every journal entry and batch names the relayer key that wrote it (several gateway workers,
one key each, share a journal).

The column is filled where a row tells who its relayer was: an entry with a query id carries the
relayer's address in the id's high 160 bits (``uint160(relayer) << 96 | sequence``); a batch
takes the relayer of its entries. A pending entry never put in a batch (no query id) keeps NULL:
the single-relayer gateway that wrote it is gone, and the journal's reconcile counts NULL as its
own, so the first worker to start fails it ("not sent before restart"), as that gateway's own
restart would have. A batch left NULL has no entries, so nothing to settle.

Revision ID: j0002
Revises: j0001
"""

import sqlalchemy as sa
from alembic import op
from eth_utils.address import to_checksum_address

revision = "j0002"
down_revision = "j0001"
branch_labels = None
depends_on = None

#: Rows backfilled per UPDATE round trip.
_CHUNK = 1000


def upgrade() -> None:
    for table in ("journal", "batches"):
        op.add_column(table, sa.Column("relayer", sa.String(length=42), nullable=True))
        op.create_index(op.f(f"ix_{table}_relayer"), table, ["relayer"], unique=False)
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, query_id FROM journal WHERE query_id IS NOT NULL")
    ).all()
    updates = [{"id": row.id, "relayer": _relayer_of_query_id(row.query_id)} for row in rows]
    for start in range(0, len(updates), _CHUNK):
        connection.execute(
            sa.text("UPDATE journal SET relayer = :relayer WHERE id = :id"),
            updates[start : start + _CHUNK],
        )
    connection.execute(
        sa.text(
            "UPDATE batches SET relayer = (SELECT MIN(journal.relayer) FROM journal "
            "WHERE journal.batch_id = batches.id)"
        )
    )


def _relayer_of_query_id(query_id_hex: str) -> str:
    """The checksummed relayer address in a query id's high 160 bits (0x-hex, 64 digits)."""
    return to_checksum_address(f"0x{int(query_id_hex, 16) >> 96:040x}")
