"""Public pool: limits and return rule, claim counts per day, ownership events, the job lease.

Revision ID: 0009_pool
Revises: 0006_sales
"""

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0009_pool"
down_revision = "0008_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four pool tables and the one settings row with the defaults."""
    setting = op.create_table(
        "pool_setting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("claims_per_day", sa.Integer(), nullable=False),
        sa.Column("max_owned", sa.Integer(), nullable=False),
        sa.Column("cooling_days", sa.Integer(), nullable=False),
        sa.Column("return_a_days", sa.Integer(), nullable=False),
        sa.Column("return_b_days", sa.Integer(), nullable=False),
        sa.Column("return_c_days", sa.Integer(), nullable=False),
        sa.Column("won_exempt", sa.Boolean(), nullable=False),
        sa.Column("warn_days", sa.Integer(), nullable=False),
        sa.Column("run_hour", sa.Integer(), nullable=False),
    )
    # The defaults of domain.pool.PoolRules, written out: a migration must not change.
    op.bulk_insert(
        setting,
        [
            {
                "id": 1,
                "claims_per_day": 10,
                "max_owned": 300,
                "cooling_days": 7,
                "return_a_days": 30,
                "return_b_days": 60,
                "return_c_days": 90,
                "won_exempt": True,
                "warn_days": 3,
                "run_hour": 2,
            }
        ],
    )
    op.create_table(
        "pool_claim_count",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("claims", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pool_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("team.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("to_user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
    )
    op.create_index("ix_pool_event_customer_at", "pool_event", ["customer_id", "at"])
    op.create_index("ix_pool_event_team_at", "pool_event", ["team_id", "at"])
    op.create_table(
        "pool_lease",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
    )


def downgrade() -> None:
    """Drop the pool tables."""
    op.drop_table("pool_lease")
    op.drop_index("ix_pool_event_team_at", "pool_event")
    op.drop_index("ix_pool_event_customer_at", "pool_event")
    op.drop_table("pool_event")
    op.drop_table("pool_claim_count")
    op.drop_table("pool_setting")
