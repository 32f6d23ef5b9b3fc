"""Customer commands on a real migrated SQLite database: numbers, duplicates, history, FTS sync."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import select, text

from db.customers import (
    DuplicateCustomer,
    contact_add,
    contact_delete,
    contact_update,
    customer_create,
    customer_duplicates,
    customer_list,
    customer_number_next,
    customer_numbers_reserve,
    customer_page,
    customer_update,
    customer_values,
)
from db.models import AuditEvent, Customer, CustomerNumberCounter, StageChange, Team
from db.search import customer_search, search_index_table
from domain.contacts import validate_contact
from domain.customers import validate_customer
from tests import factories as make


@pytest.fixture
async def world(db):
    """Two teams, reps and a manager."""
    team = await make.team(db, "华东销售一组")
    other = await make.team(db, "华北销售组")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    manager = await make.user(db, name="李伟", role="manager", team=team)
    outsider = await make.user(db, name="黄丽", role="rep", team=other)
    return {"team": team, "other": other, "rep": rep, "manager": manager, "outsider": outsider}


async def created(db, world, **kw) -> Customer:
    """Create a customer of the rep's team as the New customer form does (华东机械 unless told)."""
    kw = {"name": "华东机械", "phone": "13800138000", "team": world["team"], **kw}
    return await make.customer(db, via_form=True, **kw)


async def test_numbers_count_up_per_month_and_restart_next_month(db):
    assert await customer_number_next(db, year=2026, month=11) == "C202611001"
    assert await customer_number_next(db, year=2026, month=11) == "C202611002"
    assert await customer_number_next(db, year=2026, month=12) == "C202612001"
    await db.commit()
    rows = (await db.execute(select(CustomerNumberCounter))).scalars().all()
    assert {(r.period, r.last) for r in rows} == {("202611", 2), ("202612", 1)}


async def test_a_reserved_block_follows_on_and_a_rollback_gives_it_back(db):
    assert await customer_number_next(db, year=2026, month=11) == "C202611001"
    block = await customer_numbers_reserve(db, year=2026, month=11, count=3)
    assert block == ["C202611002", "C202611003", "C202611004"]
    await db.commit()
    assert await customer_numbers_reserve(db, year=2026, month=11, count=2) == [
        "C202611005",
        "C202611006",
    ]
    await db.rollback()
    assert await customer_number_next(db, year=2026, month=11) == "C202611005"
    assert await customer_numbers_reserve(db, year=2026, month=12, count=1) == ["C202612001"]


async def test_number_grows_past_999(db):
    db.add(CustomerNumberCounter(period="202611", last=999))
    await db.commit()
    assert await customer_number_next(db, year=2026, month=11) == "C2026111000"


async def test_concurrent_creates_get_distinct_consecutive_numbers(sessionmaker, world):
    """20 creates at once on separate sessions (connections): no collision, no gap."""

    async def create(i: int) -> str:
        async with sessionmaker() as session:
            c = await make.customer(
                session,
                via_form=True,
                name=f"并发测试公司{i}",
                phone=f"1390000{i:04d}",
                team=world["team"],
                owner=world["rep"],
            )
            return c.number

    numbers = await asyncio.gather(*(create(i) for i in range(20)))
    assert len(set(numbers)) == 20
    assert sorted(numbers) == [f"C202611{n:03d}" for n in range(1, 21)]


async def test_rolled_back_create_gives_its_number_back(db, world):
    team_id = world["team"].id
    await created(db, world, name="甲公司", phone="13800000001")
    with pytest.raises(DuplicateCustomer):
        await created(
            db, world, name="乙公司", phone="13800000001", allow_duplicate=False, commit=False
        )
    await db.rollback()
    team = await db.get(Team, team_id)
    third = await make.customer(db, via_form=True, name="丙公司", phone="13800000003", team=team)
    assert third.number == "C202611002"


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("上海华东机械有限公司", "上海华东机械"),
        ("上海华东机械有限公司", " 上海 华东机械 股份有限公司 "),
        ("ABC Trading Co., Ltd.", "ＡＢＣ　trading"),
        ("ABC Trading Co., Ltd.", "abc trading ltd"),
        ("Acme Inc.", "ACME"),
    ],
)
async def test_same_normalised_name_is_a_duplicate(db, world, existing, typed):
    await make.customer(db, via_form=True, name=existing, phone="13800000001", team=world["other"])
    with pytest.raises(DuplicateCustomer) as caught:
        await created(db, world, name=typed, phone="13900000002", allow_duplicate=False)
    (match,) = caught.value.matches
    assert match.name == existing and match.same_name and not match.same_phone


@pytest.mark.parametrize("typed", ["138 0013 8000", "+86 138-0013-8000", "１３８００１３８０００"])
async def test_same_phone_in_any_formatting_is_a_duplicate(db, world, typed):
    await created(db, world, name="老客户")
    with pytest.raises(DuplicateCustomer) as caught:
        await created(db, world, name="全新名字", phone=typed, allow_duplicate=False)
    assert caught.value.matches[0].same_phone


async def test_different_customers_are_not_duplicates(db, world):
    await created(db, world)
    assert await customer_duplicates(db, phone="13900139000", name="华东机电") == []
    # Editing a customer does not make it its own duplicate.
    c = (await db.execute(select(Customer))).scalar_one()
    assert await customer_duplicates(db, phone=c.phone, name=c.name, exclude_id=c.id) == []


async def test_allow_duplicate_saves_and_says_so_in_the_audit_log(db, world):
    await created(db, world)
    second = await created(db, world, allow_duplicate=True)
    event = (
        await db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "customer_created", AuditEvent.entity_id == second.id
            )
        )
    ).scalar_one()
    assert event.detail["duplicate_confirmed"] is True


async def test_create_records_first_stage_and_follow_up(db, world):
    c = await created(db, world, owner=world["rep"], level="A")
    assert c.next_follow_up_on == date(2026, 11, 26)
    assert c.name_initials == "hdjx" and c.phone_last4 == "8000"
    (move,) = (await db.execute(select(StageChange))).scalars().all()
    assert (move.from_stage, move.to_stage, move.from_status, move.to_status) == (
        None,
        "lead",
        None,
        "potential",
    )


async def test_update_checks_version_and_records_history(db, world):
    c = await created(db, world)
    stale = Customer.model_validate(c.model_dump())
    ok = await customer_update(
        db,
        customer=c,
        changes={"status": "lost", "loss_reason": "price", "stage": "proposal"},
        user_id=world["manager"].id,
    )
    assert ok
    await db.commit()
    # A second writer still holding version 1 changes nothing.
    assert not await customer_update(db, customer=stale, changes={"name": "别的名字"}, user_id=1)
    await db.commit()
    fresh = (
        await db.execute(
            select(Customer).where(Customer.id == c.id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert (fresh.version, fresh.name, fresh.status, fresh.stage) == (
        2,
        "华东机械",
        "lost",
        "proposal",
    )
    moves = (await db.execute(select(StageChange).order_by(StageChange.id))).scalars().all()
    last = moves[-1]
    assert (last.from_stage, last.to_stage, last.from_status, last.to_status, last.reason) == (
        "lead",
        "proposal",
        "potential",
        "lost",
        "price",
    )
    actions = (await db.execute(select(AuditEvent.action, AuditEvent.detail))).all()
    assert ("customer_updated", {"fields": ["loss_reason", "stage", "status"], "version": 2}) in [
        (a, d) for a, d in actions
    ]


async def test_owner_change_is_audited(db, world):
    c = await created(db, world)
    await customer_update(db, customer=c, changes={"owner_id": world["rep"].id}, user_id=1)
    await db.commit()
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "customer_owner_changed"))
    ).scalar_one()
    assert event.detail == {"from": None, "to": world["rep"].id}


async def test_search_index_follows_renames_and_contacts(db, world):
    me = make.actor(world["manager"])
    c = await created(db, world)
    await customer_update(
        db,
        customer=c,
        changes={"name": "江南纺织", "phone": "13900139000"},
        user_id=world["manager"].id,
    )
    await db.commit()
    assert [h.name for h in await customer_search(db, actor=me, q="江南纺织")] == ["江南纺织"]
    assert await customer_search(db, actor=me, q="华东机械") == []
    assert await customer_search(db, actor=me, q="jnfz") != []

    data, _ = validate_contact({"name": "欧阳明月", "role": "purchaser"})
    contact = await contact_add(db, customer_id=c.id, data=data, user_id=world["manager"].id)
    await db.commit()
    assert [h.name for h in await customer_search(db, actor=me, q="欧阳明月")] == ["江南纺织"]
    assert [h.name for h in await customer_search(db, actor=me, q="欧阳")] == ["江南纺织"]

    data, _ = validate_contact({"name": "司马光辉", "role": "purchaser"})
    await contact_update(db, contact=contact, data=data, user_id=world["manager"].id)
    await db.commit()
    assert await customer_search(db, actor=me, q="欧阳明月") == []
    assert [h.name for h in await customer_search(db, actor=me, q="司马光辉")] == ["江南纺织"]

    await contact_delete(db, contact=contact, user_id=world["manager"].id)
    await db.commit()
    assert await customer_search(db, actor=me, q="司马光辉") == []
    index = search_index_table(db.bind.dialect.name)  # customer_fts, or customer_trgm
    count = (await db.execute(text(f"SELECT count(*) FROM {index}"))).scalar_one()
    assert count == 1


async def test_customer_page_loads_everything_for_a_visible_customer_only(db, world):
    c = await created(db, world, owner=world["rep"])
    page = await customer_page(db, actor=make.actor(world["rep"]), customer_id=c.id)
    assert page is not None and page.owner_name == "陈静" and page.team_name == "华东销售一组"
    assert await customer_page(db, actor=make.actor(world["outsider"]), customer_id=c.id) is None


async def test_list_is_visible_customers_by_next_follow_up(db, world):
    for i, level in enumerate(["C", "A", "B"]):
        await created(
            db, world, name=f"客户{i}", phone=f"1380000000{i}", owner=world["rep"], level=level
        )
    await make.customer(
        db, via_form=True, name="别组客户", phone="13800000009", team=world["other"]
    )
    rows, more = await customer_list(db, actor=make.actor(world["rep"]))
    assert [r.level for r in rows] == ["A", "B", "C"] and not more
    rows, more = await customer_list(db, actor=make.actor(world["rep"]), per_page=2)
    assert len(rows) == 2 and more


async def test_values_round_trip_custom_fields(db, world):
    data, errors = validate_customer(
        {
            "name": "华东机械",
            "phone": "13800138000",
            "level": "A",
            "source": "referral",
            "tags": "VIP, 展会",
        }
    )
    assert not errors
    c = await customer_create(
        db,
        data=data,
        team_id=world["team"].id,
        owner_id=None,
        created_by=None,
        today=date(2026, 11, 1),
    )
    values = customer_values(c, [])
    assert values["tags"] == ["VIP", "展会"] and values["owner_id"] is None
