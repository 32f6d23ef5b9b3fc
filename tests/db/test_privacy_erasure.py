"""Erasure really erases: a person seeded everywhere leaves no trace in the database file."""

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from db.audit import audit_add
from db.models import (
    ApprovalRequest,
    AuditEvent,
    Contact,
    Customer,
    ImportJob,
    ImportRow,
    LegalHold,
    StageChange,
    Visit,
)
from db.privacy import (
    PLACES,
    ErasureRefused,
    customer_erase,
    legal_hold_set,
    privacy_find,
    privacy_request_add,
    privacy_scrub_files,
)
from db.search import customer_search
from domain.customers import derived_fields
from domain.privacy import ERASED, Channel, RequestInput, RequestKind
from tests import factories as make
from tests.factories import new_key

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NAME = "张伟龙井贸易"
PHONE = "13912345678"
NOTE = "喜欢喝龙井茶不要周一来"
CONTACT = "李秀英经理"
EMAIL = "zhangwei.longjing@example.cn"
SECRETS = [NAME, PHONE, NOTE, CONTACT, EMAIL]


async def seed_person(db, team, rep) -> int:
    """One person in every place personal data lives; the customer id."""
    customer = Customer(
        number="C202611901",
        name=NAME,
        phone=PHONE,
        team_id=team.id,
        owner_id=rep.id,
        contact_name=CONTACT,
        email=EMAIL,
        address="杭州市西湖区龙井路88号",
        needs=NOTE,
        lat=30.25,
        lng=120.12,
        tags=["龙井老客户"],
        custom={"wechat": "zw-longjing-88"},
        **derived_fields(NAME, PHONE),
    )
    db.add(customer)
    await db.flush()
    cid = customer.id
    db.add(Contact(customer_id=cid, name=CONTACT, phone="13800001111", note=NOTE))
    for i in range(3):
        db.add(
            Visit(
                customer_id=cid,
                user_id=rep.id,
                outcome="met_interested",
                method="field",
                at=NOW - timedelta(days=i),
                lat=30.26,
                lng=120.13,
                accuracy_m=12.0,
                distance_m=40.0,
                note=NOTE,
                feedback=f"{CONTACT}说价格高",
                next_action=f"给{PHONE}打电话",
                idempotency_key=new_key(),
            )
        )
    db.add(StageChange(customer_id=cid, user_id=rep.id, to_stage="lead", comment=f"{NAME}要求降价"))
    db.add(
        ApprovalRequest(
            kind="won_to_lost",
            customer_id=cid,
            team_id=team.id,
            payload={"status": "lost", "reason": "other", "comment": f"{CONTACT}换了供应商"},
            requested_by=rep.id,
            state="rejected",
            decision_comment=f"先给{PHONE}回电",
        )
    )
    await audit_add(
        db,
        action="customer_updated",
        actor_id=rep.id,
        entity="customer",
        entity_id=cid,
        detail={"before": {"phone": "13700000000"}, "after": {"phone": PHONE, "name": NAME}},
    )
    # An event elsewhere that quotes the person (e.g. an export's note): found by value.
    await audit_add(
        db, action="note", actor_id=rep.id, entity="other", detail={"text": f"致电{PHONE}"}
    )
    await seed_import(db, team, rep, cid)
    await privacy_request_add(
        db,
        data=RequestInput(
            requester=f"{NAME}本人",
            contact=PHONE,
            channel=Channel.PHONE,
            kind=RequestKind.DELETION,
            received_on=NOW.date(),
            due_on=NOW.date(),
            subject=PHONE,
        ),
        actor_id=None,
        now=NOW,
    )
    await db.commit()
    return cid


# Someone else's line in the same import: it must come through the erasure untouched.
OTHER_LINE = ["王芳五金店", "13500001234", "B", "老客户"]


async def seed_import(db, team, rep, cid) -> None:
    """A finished import of a UTF-8 CSV naming the person, with an error report line."""
    header = ["客户名称", "手机", "级别", "备注"]
    lines = [
        [NAME, PHONE, "A", NOTE],
        # Not imported (unknown level): the error report's line points at no customer,
        # and the phone is typed with spaces, as sheets often have it.
        [f"{NAME}分店", "139 1234 5678", "Z", f"{CONTACT} {EMAIL}"],
        OTHER_LINE,
    ]
    data = "\n".join(",".join(r) for r in [header, *lines]).encode()
    job = ImportJob(created_by=rep.id, team_id=team.id, filename=f"{NAME}名单.csv", file=data,
                    headers=header, mapping=["name", "phone", "level", "needs"], state="done",
                    total=3, done=3, finished_at=NOW)  # fmt: skip
    db.add(job)
    await db.flush()
    db.add_all(
        [
            ImportRow(job_id=job.id, line=2, cells=lines[0], verdict="new", action="updated",
                      customer_id=cid, before={"needs": "以前的备注" + NOTE},
                      contacts={"changed": {"1": {"phone": "13800001111"}}}),
            ImportRow(job_id=job.id, line=3, cells=lines[1], verdict="error", action="failed",
                      reason='{"level": "Unknown level: use A, B or C."}'),
            ImportRow(job_id=job.id, line=4, cells=OTHER_LINE, verdict="new", action="created"),
        ]
    )  # fmt: skip
    # A second upload of the person (another sheet of theirs), still a draft: no lines.
    db.add(
        ImportJob(created_by=rep.id, team_id=team.id, filename="draft.csv",
                  file=f"名称,手机\n{CONTACT},{PHONE}\n".encode(), headers=["名称", "手机"])
    )  # fmt: skip


def scan_tables(path) -> list[str]:
    """Every text value of every table (FTS shadow tables too) that holds a secret."""
    found = []
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        for row in con.execute(f'SELECT * FROM "{table}"'):
            for value in row:
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if not isinstance(value, str):
                    continue
                decoded = value
                if value[:1] in "[{":
                    with contextlib.suppress(ValueError):
                        decoded = json.dumps(json.loads(value), ensure_ascii=False)
                found += [f"{table}: {s}" for s in SECRETS if s in value or s in decoded]
    con.close()
    return found


def byte_forms(secret: str) -> list[bytes]:
    """How a secret can sit in the file: UTF-8 and the JSON \\u escape spelling."""
    return [secret.encode(), json.dumps(secret)[1:-1].encode()]


@pytest.mark.sqlite_only("the SQLite file bytes and VACUUM; PostgreSQL: the test below")
async def test_erasure_leaves_no_trace_in_any_table_or_the_file_bytes(db, settings):
    team = await make.team(db)
    rep = await make.user(db, name="陈静", team=team)
    cid = await seed_person(db, team, rep)
    rep_actor = make.actor(rep)
    path = settings.database_url.split("///", 1)[1]
    assert scan_tables(path), "the scan must see the seeded person before erasure"
    assert any(PHONE.encode() in open(f, "rb").read() for f in (path, path + "-wal")), (  # noqa: SIM115
        "the byte scan must see the seeded person before erasure"
    )
    assert await customer_search(db, actor=rep_actor, q="龙井贸易")
    admin = await make.user(db, name="王芳", role="admin")
    admin_actor, admin_id = make.actor(admin), admin.id

    counts = await customer_erase(db, customer_id=cid, request_id=1, actor_id=admin_id, now=NOW)
    await db.commit()
    await privacy_scrub_files(db)

    assert counts["visit"] == 3 and counts["contact"] == 1
    # Non-personal facts stay: the visits are still counted events with their outcome.
    visits = (await db.execute(select(Visit).where(Visit.customer_id == cid))).scalars()
    visits = list(visits)
    assert len(visits) == 3 and {v.outcome for v in visits} == {"met_interested"}
    assert all(v.lat is None and v.note == ERASED and v.distance_m == 40.0 for v in visits)
    erased = await db.get(Customer, cid)
    assert erased.name == ERASED and erased.number == "C202611901" and erased.tags == []
    # Search no longer finds them, by any form.
    for q in ("龙井贸易", "zwljmy", PHONE, "5678", CONTACT):
        assert not await customer_search(db, actor=admin_actor, q=q), q
    assert not await privacy_find(db, q=PHONE)

    assert scan_tables(path) == []
    con = sqlite3.connect(path)
    con.execute("VACUUM")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for file in (path, path + "-wal"):
        try:
            data = open(file, "rb").read()  # noqa: SIM115
        except FileNotFoundError:
            continue
        for secret in SECRETS:
            assert not any(form in data for form in byte_forms(secret)), (file, secret)
    # The import's lines and uploads held the person: gone, and someone else's line stays.
    rows = list((await db.execute(select(ImportRow).order_by(ImportRow.line))).scalars())
    assert [r.cells for r in rows[:2]] == [[ERASED] * 4, [ERASED] * 4]
    assert rows[0].before == {} and rows[0].contacts == {}
    assert rows[2].cells == OTHER_LINE
    jobs = list((await db.execute(select(ImportJob).order_by(ImportJob.id))).scalars())
    assert [(j.file, j.file_erased) for j in jobs] == [(b"", True), (b"", True)]
    assert counts["import_row"] == 2 and counts["import_job"] == 2
    # The erasure is itself audited, by counts only.
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "customer_erased"))
    ).scalar_one()
    assert event.entity_id == cid and event.detail["counts"]["visit"] == 3


def scan_postgresql(url: str) -> list[str]:
    """Every row of every table, as PostgreSQL's text of the row, that holds a secret."""
    from sqlalchemy import create_engine

    from db.engine import sync_url

    engine = create_engine(sync_url(url))
    found = []
    with engine.connect() as con:
        tables = con.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for table in list(tables):
            for (row,) in con.execute(text(f'SELECT t::text FROM "{table}" t')):
                found += [
                    f"{table}: {s}"
                    for s in SECRETS
                    if any(form.decode() in row for form in byte_forms(s))
                ]
    engine.dispose()
    return found


async def test_erasure_leaves_no_trace_in_any_table_on_postgresql(db, settings, backend):
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL's tables: runs in the --db=postgresql run")
    team = await make.team(db)
    rep = await make.user(db, name="陈静", team=team)
    cid = await seed_person(db, team, rep)
    assert scan_postgresql(settings.database_url), "the scan must see the seeded person first"
    admin = make.actor(await make.user(db, name="王芳", role="admin"))
    await customer_erase(db, customer_id=cid, request_id=1, actor_id=admin.id, now=NOW)
    await db.commit()
    await privacy_scrub_files(db)
    for q in ("龙井贸易", "zwljmy", PHONE, "5678", CONTACT):
        assert not await customer_search(db, actor=admin, q=q), q
    assert scan_postgresql(settings.database_url) == []


async def test_a_legal_hold_refuses_erasure_and_keeps_everything(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    cid = await seed_person(db, team, rep)
    await legal_hold_set(db, customer_id=cid, reason="合同未结清", actor_id=None, now=NOW)
    await db.commit()
    with pytest.raises(ErasureRefused) as refused:
        await customer_erase(db, customer_id=cid, request_id=None, actor_id=None, now=NOW)
    assert refused.value.reason == "合同未结清"
    await db.rollback()
    assert (await db.get(Customer, cid)).name == NAME
    assert await db.get(LegalHold, cid) is not None


async def test_the_audit_table_refuses_update_and_delete(db):
    await audit_add(db, action="signed_in", actor_id=None, detail={"x": 1})
    await db.commit()
    for sql in (
        "UPDATE audit_event SET action = 'forged'",
        "UPDATE audit_event SET detail = '{}'",
        "DELETE FROM audit_event",
    ):
        with pytest.raises(Exception, match="append-only"):
            await db.execute(text(sql))
        await db.rollback()
    assert (await db.execute(select(func.count()).select_from(AuditEvent))).scalar_one() == 1


def test_every_place_names_real_columns():
    from db.models import SQLModel

    for place in PLACES:
        columns = set(SQLModel.metadata.tables[place.table].columns.keys())
        named = {*place.text, *place.blank, *place.null, *place.json, place.by or "id"}
        assert named <= columns, place.table
