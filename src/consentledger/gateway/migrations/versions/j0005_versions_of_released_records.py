"""The record versions a released document was built from, kept after the document is deleted
at the end of the delivery window (NULL in rows from before them).

Revision ID: j0005
Revises: j0004
"""

import sqlalchemy as sa
from alembic import op

revision = "j0005"
down_revision = "j0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("journal", sa.Column("versions", sa.Text(), nullable=True))
