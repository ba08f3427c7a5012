"""The push API: each source's credential (hashed) and the batches it pushed, by Idempotency-Key.

Revision ID: b0005
Revises: b0004
"""

import sqlalchemy as sa
from alembic import op

revision = "b0005"
down_revision = "b0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bureau_feed_batch",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "idempotency_key", name=op.f("pk_bureau_feed_batch")),
    )
    op.create_table(
        "bureau_feed_credential",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("kinds", sa.String(length=1000), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_bureau_feed_credential")),
        sa.UniqueConstraint("key_id", name=op.f("uq_bureau_feed_credential_key_id")),
    )
