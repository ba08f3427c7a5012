"""The bank's signed read request on each journal entry: its request id, deadline and signature,
unique per bank (a replayed request is refused). Rows from before signed reads keep NULL, which
never collides.

Revision ID: j0003
Revises: j0002
"""

import sqlalchemy as sa
from alembic import op

revision = "j0003"
down_revision = "j0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("journal", sa.Column("request_id", sa.String(length=20), nullable=True))
    op.add_column("journal", sa.Column("request_deadline", sa.BigInteger(), nullable=True))
    op.add_column("journal", sa.Column("request_signature", sa.LargeBinary(), nullable=True))
    op.create_index(
        "ix_journal_bank_request", "journal", ["bank_address", "request_id"], unique=True
    )
