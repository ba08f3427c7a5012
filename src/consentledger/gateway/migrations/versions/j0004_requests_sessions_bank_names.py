"""The enterprise's side: banks' consent requests (kept in every state), enterprises' sessions
(only the token's hash), and the banks' legal name in Chinese and financial licence number (NULL
for a bank admitted before them: it is shown by its address).

Revision ID: j0004
Revises: j0003
"""

import sqlalchemy as sa
from alembic import op

revision = "j0004"
down_revision = "j0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("bank_address", sa.String(length=42), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("categories", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("max_reads", sa.BigInteger(), nullable=False),
        sa.Column("history_months", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=1000), nullable=True),
        sa.Column("consent_id", sa.String(length=66), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(
        "ix_consent_requests_bank", "consent_requests", ["bank_address", "id"], unique=False
    )
    op.create_index(
        op.f("ix_consent_requests_respond_by"), "consent_requests", ["respond_by"], unique=False
    )
    op.create_index(op.f("ix_consent_requests_state"), "consent_requests", ["state"], unique=False)
    op.create_index("ix_consent_requests_uscc", "consent_requests", ["uscc", "id"], unique=False)
    op.create_table(
        "enterprise_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(
        op.f("ix_enterprise_sessions_expires_at"),
        "enterprise_sessions",
        ["expires_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_enterprise_sessions_uscc"), "enterprise_sessions", ["uscc"], unique=False
    )
    op.add_column("banks", sa.Column("name_zh", sa.String(length=200), nullable=True))
    op.add_column("banks", sa.Column("licence_number", sa.String(length=15), nullable=True))
