"""Sales process: comments in the stage history, approval requests, stage and approval rules.

Revision ID: 0005_sales
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0006_sales"
down_revision = "0005_hardening"
branch_labels = None
depends_on = None

# The defaults of domain.sales, written out: a migration must not change when code does.
_RULES = [
    ("lead", [], 30),
    ("first_contact", [], 14),
    ("needs_confirmed", ["needs"], 21),
    ("proposal", ["expected_amount_cents"], 14),
    ("negotiation", [], 21),
    ("won", [], None),
    ("after_sales", [], None),
]


def upgrade() -> None:
    """Add the history comment, the request table and the two rule tables with defaults."""
    with op.batch_alter_table("stage_change") as batch:
        batch.add_column(sa.Column("comment", sa.String(), nullable=False, server_default=""))
    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("team.id"), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_comment", sa.String(), nullable=False, server_default=""),
    )
    op.create_index("ix_approval_team_state", "approval_request", ["team_id", "state"])
    op.create_index("ix_approval_customer_state", "approval_request", ["customer_id", "state"])
    op.create_index("ix_approval_requester", "approval_request", ["requested_by", "decided_at"])
    op.create_index(
        "ux_approval_customer_pending",
        "approval_request",
        ["customer_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    # The board reads "since when is this customer in its stage" per customer: one seek.
    op.create_index(
        "ix_stage_change_customer_at", "stage_change", ["customer_id", "to_stage", "at"]
    )
    rules = op.create_table(
        "sales_stage_rule",
        sa.Column("stage", sa.String(24), primary_key=True),
        sa.Column("required", sa.JSON(), nullable=False),
        sa.Column("stuck_days", sa.Integer(), nullable=True),
    )
    op.bulk_insert(rules, [{"stage": s, "required": r, "stuck_days": d} for s, r, d in _RULES])
    approval = op.create_table(
        "approval_rule",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("required", sa.Boolean(), nullable=False),
    )
    op.bulk_insert(
        approval,
        [{"kind": "won_to_lost", "required": True}, {"kind": "pool_release", "required": True}],
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("approval_rule")
    op.drop_table("sales_stage_rule")
    op.drop_index("ix_stage_change_customer_at", "stage_change")
    op.drop_table("approval_request")
    with op.batch_alter_table("stage_change") as batch:
        batch.drop_column("comment")
