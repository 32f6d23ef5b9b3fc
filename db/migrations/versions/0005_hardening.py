"""Hardening: rate-limit counters shared by all server processes.

Revision ID: 0005_hardening
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_hardening"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the counters table."""
    op.create_table(
        "rate_limit_hit",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window"),
    )


def downgrade() -> None:
    """Drop the counters table."""
    op.drop_table("rate_limit_hit")
