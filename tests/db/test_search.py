"""Customer search: what it finds, in which order, for whom, and with which query plans."""

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from db.customers import contact_add
from db.models import Team
from db.search import customer_search, search_branches, search_params, search_plan
from domain.contacts import validate_contact
from domain.enums import Role
from domain.users import Actor
from tests import factories as make


@pytest.fixture
async def world(db):
    """Two teams; the rep's team has the customers the cases look for."""
    team = await make.team(db, "华东销售一组")
    other = await make.team(db, "华北销售组")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    rep2 = await make.user(db, name="刘洋", role="rep", team=team)
    manager = await make.user(db, name="李伟", role="manager", team=team)
    outsider = await make.user(db, name="黄丽", role="rep", team=other)
    admin = await make.user(db, name="王芳", role="admin")
    made = {}
    for key, name, phone, owner, t in [
        ("shhd", "上海华东机械有限公司", "13800138000", rep, team),  # C202611001
        ("hdjx", "华东机械", "13900139000", rep, team),
        ("bjhl", "北京华联商贸", "021 6234 5678", None, team),
        ("acme", "Acme Trading Co., Ltd.", "+44 20 7946 0958", rep, team),
        ("jnfz", "江南纺织", "13980001234", rep, team),  # 8000 in the middle
        ("mine2", "华东电子", "13700008000", rep2, team),  # another rep's, same last 4
        ("far", "华东物流", "13600008000", outsider, other),  # other team, same last 4
    ]:
        made[key] = await make.customer(
            db, via_form=True, name=name, phone=phone, team=t, owner=owner
        )
    data, _ = validate_contact({"name": "欧阳明月", "role": "purchaser"})
    await contact_add(db, customer_id=made["jnfz"].id, data=data, user_id=rep.id)
    await db.commit()
    return {
        "rep": make.actor(rep),
        "rep2": make.actor(rep2),
        "manager": make.actor(manager),
        "outsider": make.actor(outsider),
        "admin": make.actor(admin),
        "c": made,
    }


async def names(db, who: Actor, q: str) -> list[str]:
    return [h.name for h in await customer_search(db, actor=who, q=q)]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("华", ["华东机械", "上海华东机械有限公司", "北京华联商贸"]),
        ("华东", ["华东机械", "上海华东机械有限公司"]),
        ("华东机械", ["华东机械", "上海华东机械有限公司"]),
        ("上海华东机械有限公司", ["上海华东机械有限公司"]),
        ("shhd", ["上海华东机械有限公司"]),
        ("SHHD", ["上海华东机械有限公司"]),
        ("shanghai", ["上海华东机械有限公司"]),
        ("shang hai", ["上海华东机械有限公司"]),
        ("huadong", ["华东机械", "上海华东机械有限公司"]),
        ("bjhl", ["北京华联商贸"]),
        ("acme", ["Acme Trading Co., Ltd."]),
        ("trading", ["Acme Trading Co., Ltd."]),
        ("C202611001", ["上海华东机械有限公司"]),
        ("c202611001", ["上海华东机械有限公司"]),
        ("Ｃ２０２６１１００１", ["上海华东机械有限公司"]),
        ("138 0013 8000", ["上海华东机械有限公司"]),
        ("+86 138-0013-8000", ["上海华东机械有限公司"]),
        ("(138) 0013.8000", ["上海华东机械有限公司"]),
        ("１３８００１３８０００", ["上海华东机械有限公司"]),
        ("021-62345678", ["北京华联商贸"]),
        ("5678", ["北京华联商贸"]),
        ("0013", ["上海华东机械有限公司", "华东机械"]),
        ("欧阳明月", ["江南纺织"]),
        ("欧阳", ["江南纺织"]),
        ("明", ["江南纺织"]),
        ("不存在", []),
        ("zzzz", []),
    ],
)
async def test_finds_by_name_pinyin_number_phone_and_contact(db, world, q, expected):
    assert sorted(await names(db, world["rep"], q)) == sorted(expected)


async def test_ranking_prefix_before_fragment(db, world):
    assert await names(db, world["rep"], "华东") == ["华东机械", "上海华东机械有限公司"]
    assert await names(db, world["rep"], "华东机械") == ["华东机械", "上海华东机械有限公司"]


async def test_ranking_last_four_before_phone_fragment(db, world):
    # 8000 is the last four of 上海华东 and only inside 江南纺织's number.
    assert await names(db, world["rep"], "8000") == ["上海华东机械有限公司", "江南纺织"]
    hits = await customer_search(db, actor=world["rep"], q="8000")
    assert [h.rank for h in hits] == [1, 3]


async def test_ranking_exact_phone_and_number_first(db, world):
    hits = await customer_search(db, actor=world["rep"], q="13800138000")
    assert hits[0].name == "上海华东机械有限公司" and hits[0].rank == 0
    hits = await customer_search(db, actor=world["rep"], q="C202611002")
    assert [(h.name, h.rank) for h in hits] == [("华东机械", 0)]


async def test_results_are_limited_to_what_the_user_may_see(db, world):
    # Same last four digits in three customers: the rep's own, a colleague's, another team's.
    assert await names(db, world["rep"], "8000") == ["上海华东机械有限公司", "江南纺织"]
    assert sorted(await names(db, world["manager"], "8000")) == sorted(
        ["上海华东机械有限公司", "华东电子", "江南纺织"]
    )
    assert len(await names(db, world["admin"], "8000")) == 4
    assert await names(db, world["outsider"], "8000") == ["华东物流"]
    assert await names(db, world["outsider"], "shhd") == []
    assert await names(db, world["rep2"], "华东") == ["华东电子"]
    # The unowned customer of the team (the pool) is visible to every rep of the team.
    assert await names(db, world["rep2"], "bjhl") == ["北京华联商贸"]
    teamless = Actor(id=999, name="x", role=Role.REP, team_id=None)
    assert await names(db, teamless, "华") == []


async def test_queries_of_one_shape_share_a_statement_but_not_its_values(db, world):
    """A shape's statement is built once per kind of actor: each search keeps its own values."""
    # Two CJK characters, for three reps (the same kind of actor) in turn, and back.
    assert await names(db, world["rep"], "华东") == ["华东机械", "上海华东机械有限公司"]
    assert await names(db, world["rep"], "江南") == ["江南纺织"]
    assert await names(db, world["rep2"], "华东") == ["华东电子"]
    assert await names(db, world["outsider"], "华东") == ["华东物流"]
    assert await names(db, world["rep"], "华东") == ["华东机械", "上海华东机械有限公司"]
    # Pinyin initials, and last four digits, the same way.
    assert await names(db, world["rep"], "shhd") == ["上海华东机械有限公司"]
    assert await names(db, world["rep"], "bjhl") == ["北京华联商贸"]
    assert await names(db, world["rep"], "5678") == ["北京华联商贸"]
    assert await names(db, world["outsider"], "8000") == ["华东物流"]


async def test_results_carry_what_the_list_shows(db, world):
    (hit,) = await customer_search(db, actor=world["rep"], q="shhd")
    assert (hit.level, hit.owner_name, hit.number) == ("B", "陈静", "C202611001")
    assert hit.last_visit_at is None


async def test_at_most_twenty_results(db, world):
    team = await db.get(Team, world["rep"].team_id)
    for i in range(25):
        await make.customer(
            db, via_form=True, name=f"华东测试{i:02d}", phone=f"1350000{i:04d}", team=team
        )
    assert len(await customer_search(db, actor=world["manager"], q="华东")) == 20
    assert len(await customer_search(db, actor=world["manager"], q="华东测试")) == 20


@pytest.mark.parametrize("q", ['"', "%", "_", "a'b", "华%", "*", "NEAR(", "a AND b", "  ", "\\"])
async def test_odd_input_is_searched_literally(db, world, q):
    hits = await customer_search(db, actor=world["admin"], q=q)
    assert all("%" not in h.name for h in hits)


def test_plan_classifies_queries():
    assert search_plan("") is None
    assert search_plan("华").like_terms == ("华",)
    assert search_plan("华东").fragments == ()
    assert search_plan("华东机械").fragments == ("华东机械",)
    assert search_plan("shhd").latin_prefix == "shhd"
    assert search_plan("138 0013").fragments == ("1380013",)
    plan = search_plan("8000")
    assert plan.last4 == "8000" and plan.phone is None
    assert search_plan("C202611001").number == "C202611001"


async def _plans(db, who: Actor, q: str) -> list[list[str]]:
    """EXPLAIN QUERY PLAN of every branch of a search."""
    conn = await db.connection()
    plans = []
    plan = search_plan(q)
    for branch in search_branches(plan, who, 20, "sqlite"):
        compiled = branch.compile(dialect=sqlite.dialect())
        values = {**compiled.params, **search_params(plan)}  # the query's own values
        params = tuple(values[k] for k in compiled.positiontup)
        rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)).all()
        plans.append([r[-1] for r in rows])
    return plans


QUERIES = [
    "华",
    "华东",
    "华东机械",
    "shhd",
    "shanghai",
    "8000",
    "138 0013 8000",
    "C202611001",
    "欧阳",
]


@pytest.mark.sqlite_only("SQLite's EXPLAIN QUERY PLAN; PostgreSQL: test_search_backends")
async def test_no_branch_reads_the_whole_customer_table(db, world):
    """Every branch uses an index (or the FTS index); 1-2 char LIKE scans a covering index."""
    await db.execute(text("ANALYZE"))
    for who in ("rep", "manager", "admin"):
        for q in QUERIES:
            plans = await _plans(db, world[who], q)
            assert plans and all(plans), (q, who)  # else the loop below checks nothing
            for plan in plans:
                for line in plan:
                    assert line not in ("SCAN customer", "SCAN contact"), (q, who, plan)
                    # FTS must be asked with MATCH (a full scan of it would say INDEX 0:).
                    assert not line.startswith("SCAN customer_fts VIRTUAL TABLE INDEX 0:"), plan
