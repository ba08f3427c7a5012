"""The feed log: every version of every record a department's source sent, with the dispute a
correction settles.

Revision ID: b0004
Revises: b0003
"""

import sqlalchemy as sa
from alembic import op

revision = "b0004"
down_revision = "b0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bureau_feed_record",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=400), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("dispute", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "source", "record_id", "version", name=op.f("pk_bureau_feed_record")
        ),
    )
    op.create_index(
        op.f("ix_bureau_feed_record_uscc"), "bureau_feed_record", ["uscc"], unique=False
    )
