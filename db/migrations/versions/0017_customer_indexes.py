"""Cheaper customer inserts: one search-index write per imported customer.

Revision ID: 0017_customer_indexes
Revises: 0016_search_index

An import inserted each new customer (its search-index row written by the customer's
insert trigger) and then its contact (whose insert trigger wrote the row again with the
contact's name): two full-text writes per customer, the biggest cost of a 100,000-row
import (docs/BENCHMARKS.md, "Import and export"). `search_index_gate` works like
`audit_redaction_gate`: while a row is in it, inside one transaction, the two insert
triggers (customer, contact) leave the search index alone, and the writer writes the new
customers' index rows itself, once, before it removes the row again. No other writer ever
sees the gate open (it is never committed); updates and deletes are never gated.

The customer table's B-tree indexes stay as they are: dropping the candidates
(ix_customer_team_owner, the name/pinyin/initials keys with or without team_id) changed
the plans of search, Today, the customer list or the pipeline for the worse on one
backend or the other, and they cost an import little (docs/BENCHMARKS.md, "Import and
export": the plans and the measurements).
"""

# ruff: noqa: S608  (the SQL below is built from constants only)
import sqlalchemy as sa
from alembic import op

revision = "0017_customer_indexes"
down_revision = "0016_search_index"
branch_labels = None
depends_on = None

_OPEN = "EXISTS (SELECT 1 FROM search_index_gate)"
# As migration 0002 wrote them, plus the gate.
_CONTACTS_OF = (
    "trim(c.contact_name || ' ' || coalesce((SELECT group_concat(k.name, ' ') "
    "FROM contact k WHERE k.customer_id = c.id), ''))"
)
_SQLITE_CUSTOMER_INSERT = """CREATE TRIGGER customer_fts_insert AFTER INSERT ON customer{when}
BEGIN
  INSERT INTO customer_fts (rowid, name, number, phone, pinyin, initials, contacts)
  VALUES (new.id, new.name, new.number, new.phone, new.name_pinyin, new.name_initials,
          new.contact_name);
END"""
_SQLITE_CONTACT_INSERT = f"""CREATE TRIGGER contact_fts_insert AFTER INSERT ON contact{{when}}
BEGIN
  UPDATE customer_fts SET contacts = (SELECT {_CONTACTS_OF} FROM customer c
                                      WHERE c.id = new.customer_id)
  WHERE rowid = new.customer_id;
END"""

# PostgreSQL: migration 0011's trigger functions, with the gate on inserts.
_PG_ON_CUSTOMER = """CREATE OR REPLACE FUNCTION customer_trgm_on_customer() RETURNS trigger AS $$
BEGIN
  {gate}PERFORM customer_trgm_refresh(NEW.id);
  RETURN NULL;
END $$ LANGUAGE plpgsql"""
_PG_ON_CONTACT = """CREATE OR REPLACE FUNCTION customer_trgm_on_contact() RETURNS trigger AS $$
BEGIN
  {gate}IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM customer_trgm_refresh(OLD.customer_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM customer_trgm_refresh(NEW.customer_id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql"""
_PG_GATE = f"IF TG_OP = 'INSERT' AND {_OPEN} THEN\n    RETURN NULL;\n  END IF;\n  "


def _triggers(gated: bool) -> list[str]:
    """The statements that (re)create the two insert triggers, gated or as before."""
    if op.get_bind().dialect.name == "postgresql":
        gate = _PG_GATE if gated else ""
        return [_PG_ON_CUSTOMER.format(gate=gate), _PG_ON_CONTACT.format(gate=gate)]
    when = f"\nWHEN NOT {_OPEN}" if gated else ""
    return [
        "DROP TRIGGER IF EXISTS customer_fts_insert",
        "DROP TRIGGER IF EXISTS contact_fts_insert",
        _SQLITE_CUSTOMER_INSERT.format(when=when),
        _SQLITE_CONTACT_INSERT.format(when=when),
    ]


def upgrade() -> None:
    """Add the gate and gate the two insert triggers."""
    op.create_table(
        "search_index_gate", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)
    )
    for sql in _triggers(gated=True):
        op.execute(sql)


def downgrade() -> None:
    """Put the ungated triggers back, drop the gate."""
    for sql in _triggers(gated=False):
        op.execute(sql)
    op.drop_table("search_index_gate")
