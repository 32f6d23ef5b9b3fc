"""Store counter: RFM tier thresholds (admin-set) and an index for store history.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the thresholds table with the defaults."""
    table = op.create_table(
        "rfm_setting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("recency_core_days", sa.Integer(), nullable=False),
        sa.Column("recency_key_days", sa.Integer(), nullable=False),
        sa.Column("frequency_core", sa.Integer(), nullable=False),
        sa.Column("frequency_key", sa.Integer(), nullable=False),
        sa.Column("monetary_core_cents", sa.Integer(), nullable=False),
        sa.Column("monetary_key_cents", sa.Integer(), nullable=False),
    )
    op.bulk_insert(
        table,
        [
            {
                "id": 1,
                "recency_core_days": 30,
                "recency_key_days": 90,
                "frequency_core": 6,
                "frequency_key": 3,
                "monetary_core_cents": 500_000,
                "monetary_key_cents": 100_000,
            }
        ],
    )


def downgrade() -> None:
    """Drop the thresholds table."""
    op.drop_table("rfm_setting")
