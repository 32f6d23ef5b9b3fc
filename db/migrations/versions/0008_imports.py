"""Import and export: who may export and import per role, import jobs, rows and mappings.

Revision ID: 0008_imports
Revises: 0006_sales
"""

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0008_imports"
down_revision = "0007_privacy"
branch_labels = None
depends_on = None

# The defaults of domain.exports, written out: a migration must not change when code does.
_ROLES = [
    ("admin", True, True),
    ("manager", True, True),
    ("rep", False, False),
    ("clerk", False, False),
]


def upgrade() -> None:
    """Add the per-role transfer settings (with defaults) and the import tables."""
    table = op.create_table(
        "transfer_setting",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("may_export", sa.Boolean(), nullable=False),
        sa.Column("may_import", sa.Boolean(), nullable=False),
    )
    op.bulk_insert(table, [{"role": r, "may_export": e, "may_import": i} for r, e, i in _ROLES])
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("team.id"), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=False),
        sa.Column("sheet", sa.String(100), nullable=False),
        sa.Column("sheets", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("duplicate_mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("stopped_at_line", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_import_job_created_by", "import_job", ["created_by"])
    op.create_table(
        "import_row",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("import_job.id"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
    )
    op.create_index("ix_import_row_job_line", "import_row", ["job_id", "line"])
    op.create_index("ix_import_row_job_verdict", "import_row", ["job_id", "verdict", "line"])
    op.create_index("ix_import_row_customer", "import_row", ["customer_id"])
    op.create_table(
        "import_mapping",
        sa.Column("signature", sa.String(2000), primary_key=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop the import tables and the transfer settings."""
    op.drop_table("import_mapping")
    op.drop_index("ix_import_row_customer", "import_row")
    op.drop_index("ix_import_row_job_verdict", "import_row")
    op.drop_index("ix_import_row_job_line", "import_row")
    op.drop_table("import_row")
    op.drop_index("ix_import_job_created_by", "import_job")
    op.drop_table("import_job")
    op.drop_table("transfer_setting")
