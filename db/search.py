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
(ILIKE, or LIKE for terms without case; the index first, see _pg_fragments); 1–2 character
queries take the same LIKE branch as on SQLite (per visibility range, _pg_like_branch), so
both backends give the same hits in the same order. Latin letters are matched as prefixes of the
stored pinyin (`shanghai`) and pinyin initials (`shhd`) through their indexes.

Cost (issue 17): the SQL is a fraction of a millisecond for most queries; building, hashing
and compiling a new UNION for every keystroke, the ORM execute path and aiosqlite's thread
hand-offs cost several times that. So the statement of each query shape is built once per
kind of actor with the typed values as bind parameters, runs as Core on the session's
connection, and on SQLite stays on the event loop unless it may walk a large index.
"""

import re
import unicodedata
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
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
from db.reads import per_actor, rows
from db.visibility import visible_customer_parts, visible_customers
from domain.customers import parse_customer_number
from domain.enums import Role
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


def _contains(term: str) -> str:
    """The LIKE pattern for a term found anywhere in a text."""
    return f"%{_like_escape(term)}%"


@dataclass(frozen=True)
class SearchShape:
    """Which branches a plan has (and how many terms): what a search statement is built from.

    The statement of a shape is built once per kind of actor (db/reads.py) with the query's
    values as bind parameters, so a search does not build, hash and compile a new SELECT.
    """

    number: bool
    phone: bool
    last4: bool
    key_prefix: bool
    latin_prefix: bool
    fragments: int
    like_terms: int
    # Per term of `fragments` or `like_terms`: whether it has letters with case. PostgreSQL
    # matches the others with LIKE, which costs a fraction of ILIKE (no case folding of
    # every text read) and finds the same rows: a text character can only fold to a
    # character with case.
    cased: tuple[bool, ...] = ()


def _has_case(term: str) -> bool:
    """Whether a term has a character that case folding changes (ILIKE differs from LIKE)."""
    return term.lower() != term or term.upper() != term


def search_shape(plan: SearchPlan) -> SearchShape:
    """The shape of a plan (which kinds of match it has)."""
    return SearchShape(
        number=bool(plan.number),
        phone=bool(plan.phone),
        last4=bool(plan.last4),
        key_prefix=bool(plan.key_prefix),
        latin_prefix=bool(plan.latin_prefix),
        fragments=len(plan.fragments),
        like_terms=len(plan.like_terms),
        cased=tuple(_has_case(t) for t in plan.fragments or plan.like_terms),
    )


def search_params(plan: SearchPlan) -> dict[str, str]:
    """The values of the bind parameters of search_branches() for a plan."""
    params: dict[str, str] = {}
    if plan.number:
        params["p_number"] = plan.number
    if plan.phone:
        params["p_phone"] = plan.phone
    if plan.last4:
        params["p_last4"] = plan.last4
    if plan.key_prefix:
        params |= {"p_key_lo": plan.key_prefix, "p_key_hi": plan.key_prefix + _TOP}
    if plan.latin_prefix:
        params |= {"p_latin_lo": plan.latin_prefix, "p_latin_hi": plan.latin_prefix + _TOP}
    if plan.fragments:
        # SQLite asks FTS5 with one MATCH string; the other backends with a LIKE per term.
        params["p_match"] = " AND ".join(_fts_phrase(t) for t in plan.fragments)
        params |= {f"p_frag_{i}": _contains(t) for i, t in enumerate(plan.fragments)}
    params |= {f"p_like_{i}": _contains(t) for i, t in enumerate(plan.like_terms)}
    return params


def _prefix(col, name: str):
    """A range condition equal to `col LIKE prefix%` (case-sensitive) that uses an index.

    The bind parameters `<name>_lo` (the prefix) and `<name>_hi` (the prefix followed by a
    character above every stored one) come from search_params().
    """
    return and_(col >= bindparam(f"{name}_lo"), col < bindparam(f"{name}_hi"))


def search_branches(
    plan: SearchPlan | SearchShape, actor: Actor, limit: int, dialect: str
) -> list[Select]:
    """Build one limited SELECT (id, rank) per way the query can match.

    The query's values are bind parameters (search_params() gives them), so the branches of
    one shape are the same statements whatever was typed.
    """
    shape = plan if isinstance(plan, SearchShape) else search_shape(plan)
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

    def pg_like(col, i: int, name: str):
        """PostgreSQL: the term's pattern by ILIKE (as SQLite's LIKE ignores ASCII case), or
        by LIKE when the term has no letters with case (the same rows, far less work)."""
        pattern = bindparam(f"{name}_{i}", type_=String())
        cased = shape.cased[i] if i < len(shape.cased) else True
        return col.ilike(pattern, escape="\\") if cased else col.like(pattern, escape="\\")

    if shape.number:
        # A complete customer number names one customer: nothing else is worth looking for.
        add(RANK_EXACT, Customer.number == bindparam("p_number"))
        return out
    if shape.phone:
        add(RANK_EXACT, Customer.phone == bindparam("p_phone"))
    if shape.last4:
        add(RANK_LAST4, Customer.phone_last4 == bindparam("p_last4"), order=Customer.id.desc())
    if shape.key_prefix:
        add(RANK_PREFIX, _prefix(Customer.name_key, "p_key"), order=Customer.name_key)
    if shape.latin_prefix:
        add(
            RANK_PREFIX,
            _prefix(Customer.name_initials, "p_latin"),
            order=Customer.name_initials,
        )
        add(
            RANK_PREFIX,
            _prefix(Customer.name_pinyin, "p_latin"),
            order=Customer.name_pinyin,
        )
    frags = [bindparam(f"p_frag_{i}", type_=String()) for i in range(shape.fragments)]
    if shape.fragments and dialect == "sqlite":
        # Newest first; FTS5 hands rowids out in descending order, so this stops early.
        add(
            RANK_FRAGMENT,
            literal_column("customer_fts").op("MATCH")(bindparam("p_match", type_=String())),
            source=customer_fts.join(Customer, Customer.id == customer_fts.c.rowid),
            order=customer_fts.c.rowid.desc(),
        )
    elif shape.fragments and dialect == "postgresql":
        _pg_fragments(shape, add, pg_like, limit)
    elif shape.fragments:
        # Other databases: the same fragments by LIKE on the base table.
        cols = (Customer.name, Customer.number, Customer.phone, Customer.name_pinyin)
        conds = [or_(*(c.ilike(f, escape="\\") for c in cols)) for f in frags]
        add(RANK_FRAGMENT, *conds, order=Customer.id.desc())
    if shape.like_terms:
        # No ORDER BY: the covering index ix_customer_like is scanned (for a rep or a team
        # only their part of it) and the scan stops at the first `limit` matches.
        # SQLite's LIKE ignores ASCII case; PostgreSQL takes ILIKE for the same hits, or LIKE
        # for a term without letters that have case (pg_like).
        def like(col, i: int):
            if dialect == "postgresql":
                return pg_like(col, i, "p_like")
            return col.like(bindparam(f"p_like_{i}", type_=String()), escape="\\")

        conds = [
            or_(like(Customer.name, i), like(Customer.contact_name, i))
            for i in range(shape.like_terms)
        ]
        if dialect == "postgresql":
            out.append(_pg_like_branch(conds, actor, limit))
        else:
            add(RANK_FRAGMENT, *conds)
        if shape.like_terms == 1:
            add(
                RANK_FRAGMENT,
                like(Contact.name, 0),
                source=Contact.__table__.join(Customer, Customer.id == Contact.customer_id),
                # as SQLite's ix_contact_name holds them (see above)
                order=(Contact.name.collate("C"), Contact.customer_id)
                if dialect == "postgresql"
                else None,
            )
    return out


# A fragment found in at most this many customers is read from the GIN index (a bitmap scan)
# and sorted; a more frequent one by walking customer_trgm newest first until `limit`
# visible customers match. One statement holds both; the count decides which one runs.
TRGM_FEW = 1000


def _pg_fragments(shape: SearchShape, add, pg_like, limit: int) -> None:
    """PostgreSQL: 3+ character fragments from customer_trgm's pg_trgm GIN index (0011).

    The same text as SQLite's customer_fts, newest first. Left to itself the planner picks
    between the GIN index and the newest-first walk from an estimate of how many rows match
    a pattern, which is off by 100x either way for the rare fragments people type (a
    phone's digits, a name): measured on the 100,000-customer bench data, a 4-digit counter
    lookup walked all 100,000 rows (~200 ms) where the index answers in ~1 ms. So the
    statement asks the index for up to TRGM_FEW matches first (a MATERIALIZED CTE, read
    once) and walks only when there were that many; either way the hits are the newest
    `limit` visible matches.
    """
    doc = customer_trgm.c.doc
    conds = [pg_like(doc, i, "p_frag") for i in range(shape.fragments)]
    few = (
        select(customer_trgm.c.id)
        .where(*conds)
        .limit(TRGM_FEW)
        .cte("trgm_few")
        .prefix_with("MATERIALIZED")
    )
    found = select(func.count()).select_from(few).scalar_subquery()
    add(
        RANK_FRAGMENT,
        found < TRGM_FEW,
        source=few.join(Customer, Customer.id == few.c.id),
        order=few.c.id.desc(),
    )
    add(
        RANK_FRAGMENT,
        found >= TRGM_FEW,
        *conds,
        source=customer_trgm.join(Customer, Customer.id == customer_trgm.c.id),
        order=customer_trgm.c.id.desc(),
    )


def _pg_like_branch(conds: list, actor: Actor, limit: int) -> Select:
    """PostgreSQL: the 1-2 character LIKE branch, each visible range of ix_customer_like read
    on its own.

    No index answers these (trigrams need 3 characters), so every visible entry is read;
    for a rep the rule's OR made that all of the team's (~10,000 in the bench data), the
    two ranges (own customers, pool) are a third of it. The first `limit` are taken in the
    order SQLite's index scan meets them (team, owner with the pool first, name, contact
    name), so a query matching more than `limit` customers keeps the same ones on both.
    """
    cols = (Customer.id, Customer.team_id, Customer.owner_id, Customer.name, Customer.contact_name)
    parts = [
        select(*cols)
        .where(*conds, part)
        .order_by(
            Customer.team_id.asc().nulls_first(),
            Customer.owner_id.asc().nulls_first(),
            Customer.name.collate("C"),
            Customer.contact_name.collate("C"),
        )
        .limit(limit)
        for part in visible_customer_parts(actor)
    ]
    hits = (parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])).subquery("like_hits")
    return (
        select(hits.c.id.label("id"), literal(RANK_FRAGMENT).label("rank"))
        .order_by(
            hits.c.team_id.asc().nulls_first(),
            hits.c.owner_id.asc().nulls_first(),
            hits.c.name.collate("C"),
            hits.c.contact_name.collate("C"),
        )
        .limit(limit)
    )


def _search_select(shape: SearchShape, actor: Actor, limit: int, dialect: str) -> Select | None:
    """The whole search: the branches' hits, each customer at its best rank, ranked."""
    branches = search_branches(shape, actor, limit, dialect)
    if not branches:
        return None
    parts = [select(b.c.id, b.c.rank).select_from(b) for b in (s.subquery() for s in branches)]
    hits = (
        parts[0].union_all(*parts[1:]).subquery("hits") if len(parts) > 1 else parts[0].subquery()
    )
    best = (
        select(hits.c.id, func.min(hits.c.rank).label("rank")).group_by(hits.c.id).subquery("best")
    )
    return (
        customer_row_select(best.c.rank)
        .join(best, best.c.id == Customer.id)
        .order_by(best.c.rank, func.length(Customer.name), Customer.id.desc())
        .limit(limit)
    )


@lru_cache(maxsize=256)
def _statements(shape: SearchShape, limit: int, dialect: str):
    """The search statement of one shape, built once per kind of actor (db/reads.py)."""
    return per_actor(lambda actor: _search_select(shape, actor, limit, dialect))


def _may_take_long(plan: SearchPlan, actor: Actor) -> bool:
    """Whether a search may walk many index entries, so it must not block the event loop.

    Every branch is an index range or an FTS5/pg_trgm lookup that stops at `limit` visible
    hits (at most ~3 ms for a rep in the 100,000-customer bench data), except the LIKE of
    1-2 CJK characters: it walks ix_customer_like over all the customers the actor sees
    (~25 ms for an admin over 100,000). A rep walks only their own part (about a
    millisecond), which costs less than handing the statement to a thread.
    """
    return bool(plan.like_terms) and actor.role != Role.REP


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
    stmt, binds = _statements(search_shape(plan), limit, dialect)(actor)
    if stmt is None:
        return []
    with sql_in_thread() if _may_take_long(plan, actor) else nullcontext():
        found = await rows(session, stmt, {**binds, **search_params(plan)})
    return customer_rows(found)
