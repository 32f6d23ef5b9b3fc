"""Privacy permission: an admin may let any user handle privacy requests.

Revision ID: 0010_privacy_permission
Revises: 0009_pool
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_privacy_permission"
down_revision = "0009_pool"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the user's privacy permission, off for everyone."""
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("may_handle_privacy", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop the privacy permission."""
    with op.batch_alter_table("user") as batch:
        batch.drop_column("may_handle_privacy")
