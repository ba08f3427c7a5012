"""The signed revocations the gateway received, journaled before it relays them: the auditor
reports one the chain did not show revoked within its bound.

Revision ID: j0007
Revises: j0006
"""

import sqlalchemy as sa
from alembic import op

revision = "j0007"
down_revision = "j0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocations_received",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.String(length=66), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_revocations_received_consent_id"),
        "revocations_received",
        ["consent_id"],
        unique=False,
    )
