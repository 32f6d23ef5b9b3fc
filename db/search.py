"""Customer search: one ranked query over number, phone, name, pinyin and contact names.

Ranking (PRODUCT.md §3): 0 exact number or exact phone, 1 last four digits of the
phone, 2 name prefix (also pinyin and pinyin-initials prefix), 3 fragment anywhere
(name, number, phone, pinyin, contact names). Within a rank, shorter names first, then
newest. Every branch carries the actor's visibility clause.

How fragments are found on SQLite 3.40: the FTS5 trigram index `customer_fts` answers
fragments of 3+ characters; it cannot answer 1–2 characters, and LIKE against the
trigram table is broken for CJK on this version, so a 1–2 character CJK query uses LIKE
on the base tables (customer, contact). On PostgreSQL the table `customer_trgm` holds
the same text with a pg_trgm GIN index, which answers the same 3+ character fragments
(ILIKE); 1–2 character queries take the same LIKE branch as on SQLite, so both backends
give the same hits in the same order. Latin letters are matched as prefixes of the
stored pinyin (`shanghai`) and pinyin initials (`shhd`) through their indexes.
"""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import (
    Select,
    and_,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import CustomerRow, customer_row_select, customer_rows
from db.engine import sql_in_thread
from db.models import Contact, Customer
from db.visibility import visible_customers
from domain.customers import parse_customer_number
from domain.names import has_cjk
from domain.phones import PhoneError, normalise_phone, phone_digits_query
from domain.users import Actor

MAX_QUERY = 100
MAX_TERMS = 5
RANK_EXACT, RANK_LAST4, RANK_PREFIX, RANK_FRAGMENT = 0, 1, 2, 3

_SEPARATORS = re.compile(r"[\W_]+")
_LATIN = re.compile(r"[a-z][a-z' ]*", re.ASCII)
# Sorts after every character a stored text can hold: the upper end of a prefix range.
_TOP = "\U0010ffff"

customer_fts = table("customer_fts", column("rowid"))
customer_trgm = table("customer_trgm", column("id"), column("doc"))  # PostgreSQL


@dataclass(frozen=True)
class SearchPlan:
    """What a typed query asks for; None fields are not searched."""

    text: str
    number: str | None = None
    phone: str | None = None
    last4: str | None = None
    key_prefix: str | None = None
    latin_prefix: str | None = None
    fragments: tuple[str, ...] = ()
    like_terms: tuple[str, ...] = ()


def _fts_phrase(term: str) -> str:
    """Quote a term as an FTS5 string (a trigram phrase matches it anywhere)."""
    return '"' + term.replace('"', '""') + '"'


def search_plan(q: str) -> SearchPlan | None:
    """Work out which kinds of match a query can have; None for an empty query."""
    text = " ".join(unicodedata.normalize("NFKC", q or "").split())[:MAX_QUERY]
    if not text:
        return None
    parsed = parse_customer_number(text)
    number = parsed.text if parsed else None
    key = _SEPARATORS.sub("", text.casefold()) or None
    digits = phone_digits_query(text)
    phone = last4 = None
    if digits:
        try:
            phone = normalise_phone(text)
        except PhoneError:
            phone = None
        last4 = digits if len(digits) == 4 else None
        # A phone fragment is matched on its digits, however the query was spaced.
        return SearchPlan(
            text=text,
            number=number,
            phone=phone,
            last4=last4,
            key_prefix=key,
            fragments=(digits,),
        )
    folded = text.casefold()
    latin = folded.replace(" ", "").replace("'", "") if _LATIN.fullmatch(folded) else None
    terms = tuple(text.split(" ")[:MAX_TERMS])
    fragments = like_terms = ()
    if all(len(t) >= 3 for t in terms):
        fragments = terms
    elif any(has_cjk(t) for t in terms):
        like_terms = terms
    return SearchPlan(
        text=text,
        number=number,
        key_prefix=key,
        latin_prefix=latin,
        fragments=fragments,
        like_terms=like_terms,
    )


def _like_escape(term: str) -> str:
    """Escape LIKE wildcards in user text (the escape character is backslash)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(col, prefix: str):
    """A range condition equal to `col LIKE prefix%` (case-sensitive) that uses an index."""
    return and_(col >= prefix, col < prefix + _TOP)


def search_branches(plan: SearchPlan, actor: Actor, limit: int, dialect: str) -> list[Select]:
    """Build one limited SELECT (id, rank) per way the query can match."""
    visible = visible_customers(actor)
    out: list[Select] = []

    def add(rank: int, *where, order=None, source=None) -> None:
        stmt = select(Customer.id.label("id"), literal(rank).label("rank"))
        if source is not None:
            stmt = stmt.select_from(source)
        stmt = stmt.where(*where, visible)
        if order is not None:
            stmt = stmt.order_by(*(order if isinstance(order, tuple) else (order,)))
        out.append(stmt.limit(limit))

    if plan.number:
        # A complete customer number names one customer: nothing else is worth looking for.
        add(RANK_EXACT, Customer.number == plan.number)
        return out
    if plan.phone:
        add(RANK_EXACT, Customer.phone == plan.phone)
    if plan.last4:
        add(RANK_LAST4, Customer.phone_last4 == plan.last4, order=Customer.id.desc())
    if plan.key_prefix:
        add(RANK_PREFIX, _prefix(Customer.name_key, plan.key_prefix), order=Customer.name_key)
    if plan.latin_prefix:
        add(
            RANK_PREFIX,
            _prefix(Customer.name_initials, plan.latin_prefix),
            order=Customer.name_initials,
        )
        add(
            RANK_PREFIX,
            _prefix(Customer.name_pinyin, plan.latin_prefix),
            order=Customer.name_pinyin,
        )
    if plan.fragments and dialect == "sqlite":
        # Newest first; FTS5 hands rowids out in descending order, so this stops early.
        match = " AND ".join(_fts_phrase(t) for t in plan.fragments)
        add(
            RANK_FRAGMENT,
            literal_column("customer_fts").op("MATCH")(match),
            source=customer_fts.join(Customer, Customer.id == customer_fts.c.rowid),
            order=customer_fts.c.rowid.desc(),
        )
    elif plan.fragments and dialect == "postgresql":
        # pg_trgm: the GIN index of customer_trgm (migration 0011) answers ILIKE over the
        # same text as customer_fts; newest first, as above.
        conds = [
            customer_trgm.c.doc.ilike(f"%{_like_escape(t)}%", escape="\\") for t in plan.fragments
        ]
        add(
            RANK_FRAGMENT,
            *conds,
            source=customer_trgm.join(Customer, Customer.id == customer_trgm.c.id),
            order=customer_trgm.c.id.desc(),
        )
    elif plan.fragments:
        # Other databases: the same fragments by LIKE on the base table.
        cols = (Customer.name, Customer.number, Customer.phone, Customer.name_pinyin)
        conds = [
            or_(*(c.ilike(f"%{_like_escape(t)}%", escape="\\") for c in cols))
            for t in plan.fragments
        ]
        add(RANK_FRAGMENT, *conds, order=Customer.id.desc())
    if plan.like_terms:
        # No ORDER BY: the covering index ix_customer_like is scanned (for a rep or a team
        # only their part of it) and the scan stops at the first `limit` matches.
        # SQLite's LIKE ignores ASCII case; PostgreSQL's needs ILIKE for the same hits.
        def like(col, term: str):
            pattern = f"%{_like_escape(term)}%"
            if dialect == "postgresql":
                return col.ilike(pattern, escape="\\")
            return col.like(pattern, escape="\\")

        conds = [
            or_(like(Customer.name, t), like(Customer.contact_name, t)) for t in plan.like_terms
        ]
        # PostgreSQL has no index for these (trigrams need 3 characters) and reads them
        # all; it takes the first `limit` in the order SQLite's index scan meets them, so a
        # query matching more than `limit` customers keeps the same ones on both.
        order = None
        if dialect == "postgresql":
            order = (
                Customer.team_id.asc().nulls_first(),
                Customer.owner_id.asc().nulls_first(),
                Customer.name.collate("C"),
                Customer.contact_name.collate("C"),
            )
        add(RANK_FRAGMENT, *conds, order=order)
        if len(plan.like_terms) == 1:
            add(
                RANK_FRAGMENT,
                like(Contact.name, plan.like_terms[0]),
                source=Contact.__table__.join(Customer, Customer.id == Contact.customer_id),
                # as SQLite's ix_contact_name holds them (see above)
                order=(Contact.name.collate("C"), Contact.customer_id)
                if dialect == "postgresql"
                else None,
            )
    return out


# The text of one customer in customer_fts, as the triggers of migration 0002 write it.
_FTS_REBUILD = [
    "DELETE FROM customer_fts",
    """INSERT INTO customer_fts (rowid, name, number, phone, pinyin, initials, contacts)
SELECT c.id, c.name, c.number, c.phone, c.name_pinyin, c.name_initials,
  trim(c.contact_name || ' ' || coalesce(
    (SELECT group_concat(k.name, ' ') FROM contact k WHERE k.customer_id = c.id), ''))
FROM customer c""",
]
# PostgreSQL: migration 0011's own function writes each customer's row.
_TRGM_REBUILD = [
    "DELETE FROM customer_trgm",
    "SELECT count(customer_trgm_refresh(id)) FROM customer",
]


def search_index_table(dialect: str) -> str:
    """The name of the search index table on a backend."""
    return "customer_fts" if dialect == "sqlite" else "customer_trgm"


def search_index_rebuild(connection) -> None:
    """Rewrite the whole search index from the customers and contacts (after a bulk copy).

    Takes a synchronous SQLAlchemy Connection (`kehu db copy` runs outside any event
    loop); it does not commit.
    """
    sqls = _FTS_REBUILD if connection.dialect.name == "sqlite" else _TRGM_REBUILD
    for sql in sqls:
        connection.execute(text(sql))


async def customer_search(
    session: AsyncSession, *, actor: Actor, q: str, limit: int = 20
) -> list[CustomerRow]:
    """Return the customers the actor may see that match a query, best first (one query)."""
    plan = search_plan(q)
    if plan is None:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    branches = search_branches(plan, actor, limit, dialect)
    if not branches:
        return []
    parts = [select(b.c.id, b.c.rank).select_from(b) for b in (s.subquery() for s in branches)]
    hits = (
        parts[0].union_all(*parts[1:]).subquery("hits") if len(parts) > 1 else parts[0].subquery()
    )
    best = (
        select(hits.c.id, func.min(hits.c.rank).label("rank")).group_by(hits.c.id).subquery("best")
    )
    stmt = (
        customer_row_select(best.c.rank)
        .join(best, best.c.id == Customer.id)
        .order_by(best.c.rank, func.length(Customer.name), Customer.id.desc())
        .limit(limit)
    )
    with sql_in_thread():  # a trigram search can take milliseconds: keep the loop free
        rows = (await session.execute(stmt)).all()
    return customer_rows(rows)
