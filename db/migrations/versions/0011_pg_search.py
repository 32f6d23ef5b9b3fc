"""PostgreSQL search: a pg_trgm index over the same text SQLite's customer_fts holds

Revision ID: 0011_pg_search
Revises: 0010_privacy_permission

PostgreSQL only (SQLite keeps its FTS5 trigram table from 0002). `customer_trgm` holds
one row per customer: name, number, phone, full pinyin, pinyin initials and contact
names (the customer's own contact_name plus its contacts), one per line, so a search
term (which never holds whitespace) cannot match across two of them. A GIN index with
gin_trgm_ops answers `doc ILIKE '%term%'`; triggers keep it in the writing transaction.

The search keys (name_key, name_pinyin, name_initials) get the "C" collation, so their
prefix ranges compare code points as on SQLite, whatever the database's locale is; their
indexes are rebuilt with it.
"""

# ruff: noqa: S608  (the SQL below is built from constants only)
from alembic import op

revision = "0011_pg_search"
down_revision = "0010_privacy_permission"
branch_labels = None
depends_on = None

_DOC = """concat_ws(E'\\n', c.name, c.number, c.phone, c.name_pinyin, c.name_initials,
    trim(c.contact_name || ' ' || coalesce(
      (SELECT string_agg(k.name, ' ' ORDER BY k.id) FROM contact k WHERE k.customer_id = c.id),
      '')))"""

KEYS = {"name_key": 200, "name_pinyin": 600, "name_initials": 200}

UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(
        f'ALTER TABLE customer ALTER COLUMN {col} TYPE varchar({n}) COLLATE "C"'
        for col, n in KEYS.items()
    ),
    """CREATE TABLE customer_trgm (
  id integer PRIMARY KEY REFERENCES customer (id) ON DELETE CASCADE,
  doc text NOT NULL
)""",
    "CREATE INDEX ix_customer_trgm_doc ON customer_trgm USING gin (doc gin_trgm_ops)",
    f"""CREATE FUNCTION customer_trgm_refresh(cid integer) RETURNS void AS $$
BEGIN
  INSERT INTO customer_trgm (id, doc)
  SELECT c.id, {_DOC} FROM customer c WHERE c.id = cid
  ON CONFLICT (id) DO UPDATE SET doc = excluded.doc;
END $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION customer_trgm_on_customer() RETURNS trigger AS $$
BEGIN
  PERFORM customer_trgm_refresh(NEW.id);
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER customer_trgm_customer
AFTER INSERT OR UPDATE OF name, number, phone, name_pinyin, name_initials, contact_name
ON customer FOR EACH ROW EXECUTE FUNCTION customer_trgm_on_customer()""",
    """CREATE FUNCTION customer_trgm_on_contact() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM customer_trgm_refresh(OLD.customer_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM customer_trgm_refresh(NEW.customer_id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER customer_trgm_contact
AFTER INSERT OR DELETE OR UPDATE OF name, customer_id
ON contact FOR EACH ROW EXECUTE FUNCTION customer_trgm_on_contact()""",
    # Customers that exist already (a database upgraded with data in it).
    f"INSERT INTO customer_trgm (id, doc) SELECT c.id, {_DOC} FROM customer c",
]

DOWNGRADE = [
    "DROP TRIGGER IF EXISTS customer_trgm_contact ON contact",
    "DROP TRIGGER IF EXISTS customer_trgm_customer ON customer",
    "DROP FUNCTION IF EXISTS customer_trgm_on_contact()",
    "DROP FUNCTION IF EXISTS customer_trgm_on_customer()",
    "DROP FUNCTION IF EXISTS customer_trgm_refresh(integer)",
    "DROP TABLE IF EXISTS customer_trgm",
    *(
        f"ALTER TABLE customer ALTER COLUMN {col} TYPE varchar({n}) COLLATE pg_catalog.default"
        for col, n in KEYS.items()
    ),
]


def upgrade() -> None:
    """Create the trigram search table, its triggers and the C-collated keys (PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        for sql in UPGRADE:
            op.execute(sql)


def downgrade() -> None:
    """Drop them again (the extension stays: other databases of the cluster may use it)."""
    if op.get_bind().dialect.name == "postgresql":
        for sql in DOWNGRADE:
            op.execute(sql)
