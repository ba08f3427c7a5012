"""Minor administrative penalties (warning, circulated criticism, low fine) have the short
publication period. Rows loaded before are not minor: their penalties keep the full period.

Revision ID: b0003
Revises: b0002
"""

import sqlalchemy as sa
from alembic import op

revision = "b0003"
down_revision = "b0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "bureau_administrative_record",
        sa.Column("minor", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
