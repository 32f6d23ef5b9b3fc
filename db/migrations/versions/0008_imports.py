"""Import and export: who may export and import, per role.

Revision ID: 0008_imports
Revises: 0006_sales
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_imports"
down_revision = "0006_sales"
branch_labels = None
depends_on = None

# The defaults of domain.exports, written out: a migration must not change when code does.
_ROLES = [
    ("admin", True, True),
    ("manager", True, True),
    ("rep", False, False),
    ("clerk", False, False),
]


def upgrade() -> None:
    """Add the per-role transfer settings with their defaults."""
    table = op.create_table(
        "transfer_setting",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("may_export", sa.Boolean(), nullable=False),
        sa.Column("may_import", sa.Boolean(), nullable=False),
    )
    op.bulk_insert(table, [{"role": r, "may_export": e, "may_import": i} for r, e, i in _ROLES])


def downgrade() -> None:
    """Drop the transfer settings."""
    op.drop_table("transfer_setting")
