"""Imports reuse the preview's checks: import_row.checked and import_job.check_digest.

Revision ID: 0015_import_checked
Revises: 0014_offline_visits
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_import_checked"
down_revision = "0014_offline_visits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add each row's stored check ({} none) and the job's digest of what it depended on."""
    with op.batch_alter_table("import_row") as batch:
        batch.add_column(sa.Column("checked", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(
            sa.Column("check_digest", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("check_digest")
    with op.batch_alter_table("import_row") as batch:
        batch.drop_column("checked")
