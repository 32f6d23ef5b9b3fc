"""Offline visits: the server's receipt time, the location fix time, the clock correction,
and the admin's limit on how old a device time may be.

Revision ID: 0014_offline_visits
Revises: 0013_import_contacts
"""

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0014_offline_visits"
down_revision = "0013_import_contacts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the three visit columns and the one-row visit settings table (72 hours)."""
    with op.batch_alter_table("visit") as batch:
        batch.add_column(sa.Column("received_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("fix_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("clock_note", sa.String(length=16), nullable=True))
    setting = op.create_table(
        "visit_setting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_max_age_hours", sa.Integer(), nullable=False),
    )
    # The default of domain.visits.DEFAULT_DEVICE_MAX_AGE_HOURS, written out.
    op.bulk_insert(setting, [{"id": 1, "device_max_age_hours": 72}])


def downgrade() -> None:
    """Drop the settings table and the three columns."""
    op.drop_table("visit_setting")
    with op.batch_alter_table("visit") as batch:
        batch.drop_column("clock_note")
        batch.drop_column("fix_at")
        batch.drop_column("received_at")
