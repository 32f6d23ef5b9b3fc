"""Import jobs: which server process runs a job and when it last said so (its lease).

Revision ID: 0012_import_lease
Revises: 0011_pg_search
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0012_import_lease"
down_revision = "0011_pg_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the job's owner (host:pid) and heartbeat."""
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("owner", sa.String(64), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("heartbeat_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Drop the owner and heartbeat."""
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
