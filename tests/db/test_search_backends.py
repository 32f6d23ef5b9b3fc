"""One table of queries and their hits, in order, that both backends must answer alike.

`make test` runs this file on SQLite (FTS5 trigram) and again on PostgreSQL (pg_trgm), so
every row below is checked on both. Ranking: exact number/phone, last four digits, prefix
(name, pinyin, initials), fragment; within a rank the shorter name, then the newer customer.
"""

import pytest
from sqlalchemy import select, text

from db import search
from db.customers import contact_add
from db.models import User
from db.search import customer_search, search_branches, search_index_rebuild, search_plan
from domain.contacts import validate_contact
from tests import factories as make

# name, phone, contact_name; created in this order (ids ascending)
CUSTOMERS = [
    ("上海华东机械有限公司", "13800138000", ""),  # C202611001
    ("华东机械", "13900139000", ""),  # C202611002
    ("北京华联商贸", "021 6234 5678", ""),
    ("Acme Trading Co., Ltd.", "+44 20 7946 0958", ""),
    ("江南纺织", "13980001234", ""),  # 8000 inside the number; contact 欧阳明月 below
    ("华东电子", "13700008000", ""),  # last four 8000
    ("杭州西湖茶业", "13512345678", "张伟"),  # last four 5678 like 北京华联
    ("深圳华强电子", "13800008001", ""),  # 8000 inside
]

CASES = [
    # CJK, 1–2 characters (LIKE on the base tables) and longer fragments (trigram index)
    ("华", ["华东电子", "华东机械", "深圳华强电子", "北京华联商贸", "上海华东机械有限公司"]),
    ("华东", ["华东电子", "华东机械", "上海华东机械有限公司"]),
    ("华东机械", ["华东机械", "上海华东机械有限公司"]),
    ("机械有限", ["上海华东机械有限公司"]),
    ("强电", ["深圳华强电子"]),
    # pinyin initials and full pinyin, any case
    ("shhd", ["上海华东机械有限公司"]),
    ("HZXH", ["杭州西湖茶业"]),
    ("huadong", ["华东电子", "华东机械", "上海华东机械有限公司"]),
    ("HuaDong", ["华东电子", "华东机械", "上海华东机械有限公司"]),
    ("xihu", ["杭州西湖茶业"]),
    ("shang hai", ["上海华东机械有限公司"]),
    # Latin names
    ("acme", ["Acme Trading Co., Ltd."]),
    ("trading", ["Acme Trading Co., Ltd."]),
    ("acme trading", ["Acme Trading Co., Ltd."]),
    # numbers
    ("C202611002", ["华东机械"]),
    ("c202611001", ["上海华东机械有限公司"]),
    # phone digits: exact, spaced, fragments
    ("13800138000", ["上海华东机械有限公司"]),
    ("138 0013 8000", ["上海华东机械有限公司"]),
    ("+86 139-0013-9000", ["华东机械"]),
    ("0013", ["华东机械", "上海华东机械有限公司"]),
    ("79460958", ["Acme Trading Co., Ltd."]),
    # last four digits first, then the same digits inside a number
    ("8000", ["华东电子", "上海华东机械有限公司", "江南纺织", "深圳华强电子"]),
    ("5678", ["杭州西湖茶业", "北京华联商贸"]),
    # contact names: the customer's own contact and its contacts
    ("欧阳", ["江南纺织"]),
    ("欧阳明月", ["江南纺织"]),
    ("张伟", ["杭州西湖茶业"]),
    # mixed: several terms must all match
    ("华东 机械", ["华东机械", "上海华东机械有限公司"]),
    ("杭州 茶业", ["杭州西湖茶业"]),
    ("华东 电子", ["华东电子"]),
    # nothing
    ("不存在", []),
    ("zz", []),
    ("%", []),
]


@pytest.fixture
async def admin(db):
    """The customers above, and an admin who may see them all."""
    team = await make.team(db)
    owner = await make.user(db, name="陈静", role="rep", team=team)
    made = {}
    for name, phone, contact_name in CUSTOMERS:
        made[name] = await make.customer(
            db, via_form=True, name=name, phone=phone, team=team, owner=owner
        )
        if contact_name:
            made[name].contact_name = contact_name
            db.add(made[name])
    data, _ = validate_contact({"name": "欧阳明月", "role": "purchaser"})
    await contact_add(db, customer_id=made["江南纺织"].id, data=data, user_id=owner.id)
    await db.commit()
    return make.actor(await make.user(db, name="王芳", role="admin"))


@pytest.mark.parametrize(("q", "expected"), CASES, ids=[q for q, _ in CASES])
async def test_both_backends_find_the_same_customers_in_the_same_order(db, admin, q, expected):
    assert [h.name for h in await customer_search(db, actor=admin, q=q)] == expected


async def test_a_rebuilt_index_answers_as_the_triggers_kept_it(db, admin):
    """db copy rebuilds the index in one go: it must hold what the triggers wrote."""
    before = {q: [h.id for h in await customer_search(db, actor=admin, q=q)] for q, _ in CASES}
    conn = await db.connection()
    await conn.run_sync(search_index_rebuild)
    after = {q: [h.id for h in await customer_search(db, actor=admin, q=q)] for q, _ in CASES}
    assert after == before and any(after.values())


async def test_postgresql_answers_fragments_from_the_trigram_index(db, admin, backend):
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL's plan: runs in the --db=postgresql run")
    # Terms without letters with case are matched with LIKE (the same rows), others ILIKE.
    for term, op in (("华东机械", "LIKE"), ("huadong", "ILIKE"), ("8000", "LIKE")):
        branches = search_branches(search_plan(term), admin, 20, "postgresql")
        assert any(
            f"customer_trgm.doc {op}" in str(b.compile(dialect=db.bind.dialect)) for b in branches
        ), term
    await db.execute(text("ANALYZE customer_trgm"))
    await db.execute(text("SET LOCAL enable_seqscan = off"))  # eight rows: else it just reads them
    for term, op in (("华东机械", "LIKE"), ("huadong", "ILIKE"), ("8000", "LIKE")):
        plan = "\n".join(
            (
                await db.execute(
                    text(f"EXPLAIN SELECT id FROM customer_trgm WHERE doc {op} :p"),
                    {"p": f"%{term}%"},
                )
            ).scalars()
        )
        assert "Bitmap Index Scan on ix_customer_trgm_doc" in plan, plan


async def test_with_more_hits_than_shown_both_show_the_same_ones(db, admin):
    """A 1–2 character query matching more than 20 customers: the same 20 on both."""
    team = await make.team(db)
    owner = (await db.execute(select(User).where(User.name == "陈静"))).scalar_one()
    for i in range(25):
        await make.customer(
            db,
            via_form=True,
            name=f"测试华东{i:02d}",
            phone=f"1350000{i:04d}",
            team=team,
            owner=owner,
        )
    found = [h.name for h in await customer_search(db, actor=admin, q="东")]
    # The first 20 matches by name (as SQLite's index holds them), then ranked as always.
    tests = [f"测试华东{i:02d}" for i in range(16, -1, -1)]
    assert found == ["华东电子", "华东机械", *tests, "上海华东机械有限公司"]


async def test_a_reps_short_query_sees_own_and_pool_and_the_same_twenty(db):
    """A rep's 1–2 character query: own customers and the team's pool, never another rep's,
    and with more than 20 matches the same 20 on both backends (the pool's first, by name)."""
    team = await make.team(db)
    rep = await make.user(db, name="李雷", role="rep", team=team)
    other = await make.user(db, name="韩梅梅", role="rep", team=team)
    for i in range(12):
        await make.customer(db, via_form=True, name=f"池测试{i:02d}", team=team)
    for i in range(12):
        await make.customer(db, via_form=True, name=f"甲测试{i:02d}", team=team, owner=rep)
    for i in range(5):
        await make.customer(db, via_form=True, name=f"乙测试{i:02d}", team=team, owner=other)
    await db.commit()
    found = [h.name for h in await customer_search(db, actor=make.actor(rep), q="测试")]
    # The first 20 LIKE matches: the pool (12, by name), then the rep's own (8); then ranked
    # as always (same length: the newer first).
    own = [f"甲测试{i:02d}" for i in range(7, -1, -1)]
    pool = [f"池测试{i:02d}" for i in range(11, -1, -1)]
    assert found == own + pool


@pytest.fixture
def few_trigram_hits(monkeypatch):
    """Make PostgreSQL walk customer_trgm for any fragment with 2+ matches (the path of a
    fragment found in TRGM_FEW customers or more), with fresh statements before and after."""
    monkeypatch.setattr(search, "TRGM_FEW", 2)
    search._statements.cache_clear()
    yield
    search._statements.cache_clear()


@pytest.mark.parametrize(("q", "expected"), CASES, ids=[q for q, _ in CASES])
async def test_frequent_fragments_give_the_same_hits(db, admin, few_trigram_hits, q, expected):
    assert [h.name for h in await customer_search(db, actor=admin, q=q)] == expected
