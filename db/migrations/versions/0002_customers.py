"""customers: contacts, tags, custom fields, number counter, search index

Revision ID: 0002
Revises: 0001

SQLite gets an FTS5 trigram index (customer_fts) over the searchable text of a customer,
kept in sync by triggers in the writing transaction: name, number, phone, full pinyin,
pinyin initials and contact names (the customer's own contact_name plus its contacts).
Its rowid is the customer id. Other databases skip it; db.search falls back to LIKE.
"""

# ruff: noqa: S608  (the SQL below is built from constants only)
import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The text one customer contributes to the "contacts" column of the index.
_CONTACTS_OF = (
    "trim(c.contact_name || ' ' || coalesce("
    "(SELECT group_concat(k.name, ' ') FROM contact k WHERE k.customer_id = c.id), ''))"
)

FTS_SQL = [
    "CREATE VIRTUAL TABLE customer_fts USING fts5("
    "name, number, phone, pinyin, initials, contacts, tokenize = 'trigram')",
    # Customers: insert, change of a searchable column, delete.
    """CREATE TRIGGER customer_fts_insert AFTER INSERT ON customer BEGIN
  INSERT INTO customer_fts (rowid, name, number, phone, pinyin, initials, contacts)
  VALUES (new.id, new.name, new.number, new.phone, new.name_pinyin, new.name_initials,
          new.contact_name);
END""",
    f"""CREATE TRIGGER customer_fts_update
AFTER UPDATE OF name, number, phone, name_pinyin, name_initials, contact_name ON customer
BEGIN
  UPDATE customer_fts SET name = new.name, number = new.number, phone = new.phone,
    pinyin = new.name_pinyin, initials = new.name_initials,
    contacts = (SELECT {_CONTACTS_OF} FROM customer c WHERE c.id = new.id)
  WHERE rowid = new.id;
END""",
    """CREATE TRIGGER customer_fts_delete AFTER DELETE ON customer BEGIN
  DELETE FROM customer_fts WHERE rowid = old.id;
END""",
    # Contacts: their names are searchable as part of their customer.
    f"""CREATE TRIGGER contact_fts_insert AFTER INSERT ON contact BEGIN
  UPDATE customer_fts SET contacts = (SELECT {_CONTACTS_OF} FROM customer c
                                      WHERE c.id = new.customer_id)
  WHERE rowid = new.customer_id;
END""",
    f"""CREATE TRIGGER contact_fts_update AFTER UPDATE OF name, customer_id ON contact BEGIN
  UPDATE customer_fts SET contacts = (SELECT {_CONTACTS_OF} FROM customer c
                                      WHERE c.id = old.customer_id)
  WHERE rowid = old.customer_id;
  UPDATE customer_fts SET contacts = (SELECT {_CONTACTS_OF} FROM customer c
                                      WHERE c.id = new.customer_id)
  WHERE rowid = new.customer_id;
END""",
    f"""CREATE TRIGGER contact_fts_delete AFTER DELETE ON contact BEGIN
  UPDATE customer_fts SET contacts = (SELECT {_CONTACTS_OF} FROM customer c
                                      WHERE c.id = old.customer_id)
  WHERE rowid = old.customer_id;
END""",
    # Customers that exist already (a database upgraded with data in it).
    f"""INSERT INTO customer_fts (rowid, name, number, phone, pinyin, initials, contacts)
SELECT c.id, c.name, c.number, c.phone, c.name_pinyin, c.name_initials, {_CONTACTS_OF}
FROM customer c""",
]


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", sa.JSON(), server_default="[]", nullable=False))
        # Prefix search on pinyin initials ("shhd") and full pinyin ("shanghai").
        batch_op.create_index("ix_customer_name_initials", ["name_initials"], unique=False)
        batch_op.create_index("ix_customer_name_pinyin", ["name_pinyin"], unique=False)
        # The same within a team: what a manager's or rep's search walks.
        batch_op.create_index("ix_customer_team_key", ["team_id", "name_key"], unique=False)
        batch_op.create_index(
            "ix_customer_team_initials", ["team_id", "name_initials"], unique=False
        )
        batch_op.create_index("ix_customer_team_pinyin", ["team_id", "name_pinyin"], unique=False)
        # Covers a 1-2 character CJK search (LIKE '%华东%' on names) of a rep, a team or
        # everyone: an index scan instead of reading whole customer rows.
        batch_op.create_index(
            "ix_customer_like", ["team_id", "owner_id", "name", "contact_name"], unique=False
        )
        # The customer list of a rep, a team or everyone, by next follow-up.
        batch_op.create_index(
            "ix_customer_next_follow_up", ["next_follow_up_on", "id"], unique=False
        )

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_contact_name", ["name", "customer_id"], unique=False)

    op.create_table(
        "custom_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("label_en", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("label_zh", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )

    op.create_table(
        "customer_number_counter",
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period"),
    )
    # Continue after the numbers already handed out (C + yyyymm + sequence).
    op.execute(
        "INSERT INTO customer_number_counter (period, last) "
        "SELECT substr(number, 2, 6), max(CAST(substr(number, 8) AS INTEGER)) "
        "FROM customer WHERE number LIKE 'C%' GROUP BY substr(number, 2, 6)"
    )

    if op.get_bind().dialect.name == "sqlite":
        for sql in FTS_SQL:
            op.execute(sql)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "contact_fts_delete",
            "contact_fts_update",
            "contact_fts_insert",
            "customer_fts_delete",
            "customer_fts_update",
            "customer_fts_insert",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS customer_fts")
    op.drop_table("customer_number_counter")
    op.drop_table("custom_field")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_name")
        batch_op.drop_index(batch_op.f("ix_contact_customer_id"))
    op.drop_table("contact")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_next_follow_up")
        batch_op.drop_index("ix_customer_like")
        batch_op.drop_index("ix_customer_team_pinyin")
        batch_op.drop_index("ix_customer_team_initials")
        batch_op.drop_index("ix_customer_team_key")
        batch_op.drop_index("ix_customer_name_pinyin")
        batch_op.drop_index("ix_customer_name_initials")
        batch_op.drop_column("tags")
