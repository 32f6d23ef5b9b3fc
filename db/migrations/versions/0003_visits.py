"""visits: outcomes, cadence, recently viewed

Revision ID: 0003
Revises: 0002

A branch of its own beside 0002 (customers); `upgrade heads` applies both.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Seeded from domain.outcomes.DEFAULT_OUTCOMES and domain.cadence.DEFAULT_CADENCE_DAYS,
# copied here so that later edits of the defaults never rewrite history.
OUTCOMES = [
    ("met_interested", "Met: interested", "已面谈-有意向", "field", False),
    ("met_not_now", "Met: not now", "已面谈-暂无需求", "field", False),
    ("not_met", "Not met", "未见到人", "field", False),
    ("called", "Phone call", "电话沟通", "phone", False),
    ("store_visit", "Came to store", "到店", "store", False),
    ("store_purchase", "Purchased in store", "到店购买", "store", True),
    ("message", "Message / WeChat", "微信/短信", "message", False),
]
CADENCE = [("A", 3), ("B", 7), ("C", 14)]


def upgrade() -> None:
    """Apply this revision."""
    outcome = op.create_table(
        "outcome",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label_en", sa.String(length=60), nullable=False),
        sa.Column("label_zh", sa.String(length=60), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("asks_amount", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    cadence = op.create_table(
        "cadence",
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("level"),
    )
    op.create_table(
        "recently_viewed",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "customer_id"),
    )
    op.create_index(
        "ix_recently_viewed_user_at", "recently_viewed", ["user_id", "viewed_at"], unique=False
    )
    op.bulk_insert(
        outcome,
        [
            {
                "code": code,
                "label_en": en,
                "label_zh": zh,
                "method": method,
                "asks_amount": asks,
                "position": (i + 1) * 10,
                "active": True,
            }
            for i, (code, en, zh, method, asks) in enumerate(OUTCOMES)
        ],
    )
    op.bulk_insert(cadence, [{"level": lvl, "days": days} for lvl, days in CADENCE])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_recently_viewed_user_at", table_name="recently_viewed")
    op.drop_table("recently_viewed")
    op.drop_table("cadence")
    op.drop_table("outcome")
