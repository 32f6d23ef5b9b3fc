"""privacy: requests, legal holds, periods, data basis; the audit table becomes append-only

Revision ID: 0005_privacy
Revises: 0004

The audit table refuses UPDATE and DELETE in the database itself (triggers on SQLite and
PostgreSQL). The one exception is the erasure redaction (db.audit_log.audit_redact): it
inserts a row into audit_redaction_gate inside its transaction, changes only `detail`,
and removes the row again, so no other writer ever sees the gate open.
"""

# ruff: noqa: S608  (the SQL below is built from constants only)
import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision = "0007_privacy"
down_revision = "0006_sales"
branch_labels = None
depends_on = None

_LOCKED = "new.at IS NOT old.at OR new.actor_id IS NOT old.actor_id OR new.action IS NOT old.action OR new.entity IS NOT old.entity OR new.entity_id IS NOT old.entity_id OR new.ip IS NOT old.ip"

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only');
END""",
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN NOT EXISTS (SELECT 1 FROM audit_redaction_gate) OR {_LOCKED}
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only');
END""",
]

POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION audit_event_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_event is append-only';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM audit_redaction_gate) OR {_LOCKED.replace("IS NOT", "IS DISTINCT FROM")} THEN
    RAISE EXCEPTION 'audit_event is append-only';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_guard()",
]


def upgrade() -> None:
    """Apply this revision."""
    # Plain ADD COLUMN: a batch rebuild of customer would drop its search-index triggers.
    op.add_column(
        "customer",
        sa.Column(
            "data_basis",
            sqlmodel.sql.sqltypes.AutoString(length=16),
            server_default="",
            nullable=False,
        ),
    )
    op.add_column("customer", sa.Column("data_basis_on", sa.Date(), nullable=True))
    op.create_table(
        "privacy_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_privacy_request_status_due", "privacy_request", ["status", "due_on"])
    op.create_table(
        "legal_hold",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["set_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    table = op.create_table(
        "privacy_setting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_due_days", sa.Integer(), nullable=False),
        sa.Column("location_retention_days", sa.Integer(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "request_due_days": 15, "location_retention_days": 180}])
    op.create_table(
        "audit_redaction_gate", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)
    )
    # The audit log page filters by user, action or customer and pages newest first.
    op.create_index("ix_audit_actor_at", "audit_event", ["actor_id", "at"])
    op.create_index("ix_audit_action_at", "audit_event", ["action", "at"])
    op.create_index("ix_audit_entity_at", "audit_event", ["entity", "entity_id", "at"])
    dialect = op.get_bind().dialect.name
    for sql in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(sql)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_guard()")
    op.drop_index("ix_audit_entity_at", "audit_event")
    op.drop_index("ix_audit_action_at", "audit_event")
    op.drop_index("ix_audit_actor_at", "audit_event")
    op.drop_table("audit_redaction_gate")
    op.drop_table("privacy_setting")
    op.drop_table("legal_hold")
    op.drop_index("ix_privacy_request_status_due", "privacy_request")
    op.drop_table("privacy_request")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("data_basis_on")
        batch_op.drop_column("data_basis")
