"""Baseline: the bureau database as the first release made it (the eleven categories' tables and
the dataset's facts), before income-tax returns, annual reports, minor penalties and the feed log.

Revision ID: b0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bureau_data_source",
        sa.Column("category", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("department", sa.String(length=300), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_bureau_data_source")),
    )
    op.create_table(
        "bureau_enterprise",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=100), nullable=False),
        sa.Column("registered_capital_fen", sa.BigInteger(), nullable=False),
        sa.Column("founded", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("industry_code", sa.String(length=5), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_enterprise")),
        sa.UniqueConstraint("uscc", name=op.f("uq_bureau_enterprise_uscc")),
    )
    op.create_table(
        "bureau_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bureau_meta")),
    )
    op.create_table(
        "bureau_administrative_record",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("authority", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("dated_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_administrative_record_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "kind", "reference", name=op.f("pk_bureau_administrative_record")
        ),
    )
    op.create_table(
        "bureau_arrears",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_arrears_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "category", name=op.f("pk_bureau_arrears")),
    )
    op.create_table(
        "bureau_court_record",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_no", sa.String(length=64), nullable=False),
        sa.Column("court", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("cause", sa.String(length=100), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_court_record_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "kind", "case_no", name=op.f("pk_bureau_court_record")
        ),
    )
    op.create_table(
        "bureau_customs_registration",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("customs_code", sa.String(length=10), nullable=False),
        sa.Column("credit_grade", sa.String(length=32), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_customs_registration_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_bureau_customs_registration")),
    )
    op.create_table(
        "bureau_customs_year",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("import_fen", sa.BigInteger(), nullable=False),
        sa.Column("export_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_customs_year_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "year", name=op.f("pk_bureau_customs_year")),
    )
    op.create_table(
        "bureau_financial_statement",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_assets_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_profit_fen", sa.BigInteger(), nullable=False),
        sa.Column("audit_opinion", sa.String(length=32), nullable=False),
        sa.Column("auditor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_financial_statement_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "fiscal_year", name=op.f("pk_bureau_financial_statement")
        ),
    )
    op.create_table(
        "bureau_high_tech_certificate",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("certificate_no", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("issuing_body", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_high_tech_certificate_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "certificate_no", name=op.f("pk_bureau_high_tech_certificate")
        ),
    )
    op.create_table(
        "bureau_intellectual_property",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("nice_class", sa.SmallInteger(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_intellectual_property_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "kind", "number", name=op.f("pk_bureau_intellectual_property")
        ),
    )
    op.create_table(
        "bureau_monthly",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("insured_headcount", sa.Integer(), nullable=True),
        sa.Column("housing_fund_headcount", sa.Integer(), nullable=True),
        sa.Column("tax_paid_fen", sa.BigInteger(), nullable=True),
        sa.Column("water_fen", sa.BigInteger(), nullable=True),
        sa.Column("water_on_time", sa.Boolean(), nullable=True),
        sa.Column("power_fen", sa.BigInteger(), nullable=True),
        sa.Column("power_on_time", sa.Boolean(), nullable=True),
        sa.Column("gas_fen", sa.BigInteger(), nullable=True),
        sa.Column("gas_on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_monthly_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "month", name=op.f("pk_bureau_monthly")),
    )
    op.create_table(
        "bureau_shareholder",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subscribed_capital_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_shareholder_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "seq", name=op.f("pk_bureau_shareholder")),
    )
    op.create_table(
        "bureau_tax_year",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("credit_grade", sa.String(length=1), nullable=False),
        sa.Column("taxable_revenue_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["bureau_enterprise.id"],
            name=op.f("fk_bureau_tax_year_enterprise_id_bureau_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "year", name=op.f("pk_bureau_tax_year")),
    )
