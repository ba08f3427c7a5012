"""Headcount and total assets from the enterprise income tax annual return (tax year), and the
annual report to the market regulator: the size classification's sources beside social
insurance. Rows loaded before keep NULL in the new tax-year columns.

Revision ID: b0002
Revises: b0001
"""

import sqlalchemy as sa
from alembic import op

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bureau_tax_year", sa.Column("employees", sa.Integer(), nullable=True))
    op.add_column("bureau_tax_year", sa.Column("total_assets_fen", sa.BigInteger(), nullable=True))
    op.create_table(
        "bureau_annual_report",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("total_assets_fen", sa.BigInteger(), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_annual_report_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "year", name=op.f("pk_bureau_annual_report")),
    )
