"""Import: the upload size limit as an admin setting, what a row did to contacts, erased files.

Revision ID: 0013_import_contacts
Revises: 0012_import_lease
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_import_contacts"
down_revision = "0012_import_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the import settings row (20 MB), import_row.contacts and import_job.file_erased."""
    table = op.create_table(
        "import_setting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("max_upload_mb", sa.Integer(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "max_upload_mb": 20}])
    with op.batch_alter_table("import_row") as batch:
        batch.add_column(sa.Column("contacts", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(
            sa.Column("file_erased", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("import_job") as batch:
        batch.drop_column("file_erased")
    with op.batch_alter_table("import_row") as batch:
        batch.drop_column("contacts")
    op.drop_table("import_setting")
