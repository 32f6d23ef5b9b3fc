"""Realistic demo data: teams, stores, users of every role, customers and visits."""

import random
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from db import demo_names as N
from db.engine import _sqlite_pragmas, sync_url
from db.models import Customer, StageChange, Team, User, Visit
from domain.cadence import DEFAULT_CADENCE_DAYS, next_follow_up
from domain.customers import customer_number
from domain.enums import STAGE_ORDER, Level, LossReason, Source
from domain.names import name_key, pinyin_forms

TZ = ZoneInfo("Asia/Shanghai")

BASE_TEAMS = [
    ("华东销售一组", False),
    ("华北销售组", False),
    ("South China Sales", False),
    ("南京西路门店", True),
    ("徐家汇门店", True),
]

BASE_USERS = [
    ("王芳", "admin", None),
    ("李伟", "manager", "华东销售一组"),
    ("张敏", "manager", "华北销售组"),
    ("Emily Chen", "manager", "South China Sales"),
    ("赵店长", "manager", "南京西路门店"),
    ("陈静", "rep", "华东销售一组"),
    ("刘洋", "rep", "华东销售一组"),
    ("杨磊", "rep", "华东销售一组"),
    ("黄丽", "rep", "华北销售组"),
    ("周杰", "rep", "华北销售组"),
    ("David Wu", "rep", "South China Sales"),
    ("吴婷", "clerk", "南京西路门店"),
    ("孙浩", "clerk", "徐家汇门店"),
]

MOBILE_PREFIXES = [
    *(str(p) for p in range(130, 140)),
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    *(str(p) for p in range(180, 190)),
    "191",
    "198",
    "199",
]

FIELD_OUTCOMES = [
    ("met_interested", "field", 30),
    ("met_not_now", "field", 20),
    ("not_met", "field", 10),
    ("called", "phone", 25),
    ("message", "message", 15),
]
STORE_OUTCOMES = [("store_visit", "store", 55), ("store_purchase", "store", 45)]


def _engine(url: str) -> Engine:
    """A synchronous engine for bulk loading."""
    engine = create_engine(sync_url(url))
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def database_is_empty(url: str) -> bool:
    """Return True when the database has no users yet."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(User)).scalar_one() == 0
    finally:
        engine.dispose()


def _plan_teams(customers: int) -> tuple[list[tuple[str, bool]], list[tuple[str, str, str | None]]]:
    """Scale teams and users with the number of customers (about 500 customers per rep)."""
    teams = list(BASE_TEAMS)
    users = list(BASE_USERS)
    extra_field = max(0, customers // 12000 - 3)
    extra_stores = max(0, customers // 40000 - 2)
    rng = random.Random(99)
    for i in range(extra_field):
        city = N.CITIES[i % len(N.CITIES)][0]
        name = f"{city}销售{i // len(N.CITIES) + 1}组"
        teams.append((name, False))
        users.append((_person(rng) + f"{i}", "manager", name))
    for i in range(extra_stores):
        name = f"{N.CITIES[i % len(N.CITIES)][0]}旗舰店{i + 1}"
        teams.append((name, True))
        users.append((_person(rng) + f"店长{i}", "manager", name))
        users.append((_person(rng) + f"店员{i}", "clerk", name))
    reps_needed = max(6, customers // 500)
    field = [t for t, store in teams if not store]
    have = sum(1 for _n, r, _t in users if r == "rep")
    for i in range(max(0, reps_needed - have)):
        users.append((_person(rng) + f"{i + 1:03d}", "rep", field[i % len(field)]))
    return teams, users


def _person(rng: random.Random) -> str:
    """A Chinese person's name."""
    return rng.choice(N.SURNAMES) + "".join(rng.choice(N.GIVEN) for _ in range(rng.randint(1, 2)))


def _company(rng: random.Random) -> tuple[list[str], str, str]:
    """A company name as its parts, its industry and its city."""
    city, _lat, _lng = rng.choice(N.CITIES)
    industry_zh, industry_en = rng.choice(N.INDUSTRIES)
    if rng.random() < 0.1:
        parts = [rng.choice(N.EN_WORDS), " " + industry_en, " " + rng.choice(N.EN_SUFFIX)]
        return parts, industry_en, city
    parts = [city, rng.choice(N.WORDS), rng.choice(N.WORDS), industry_zh, rng.choice(N.SUFFIXES)]
    return parts, industry_zh, city


@lru_cache(maxsize=4096)
def _part_pinyin(part: str) -> tuple[str, str]:
    """Pinyin of one name part; demo names are built from few parts, so cache them."""
    return pinyin_forms(part)


def _search_fields(parts: list[str], phone: str) -> dict[str, str]:
    """The derived search fields of a demo name, assembled from cached parts."""
    name = "".join(parts)
    forms = [_part_pinyin(p) for p in parts]
    return {
        "name_key": name_key(name),
        "name_pinyin": "".join(f for f, _i in forms),
        "name_initials": "".join(i for _f, i in forms),
        "phone_last4": phone[-4:],
    }


def _mobile(rng: random.Random) -> str:
    """A valid mainland mobile number."""
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99999999):08d}"


def _weighted(rng: random.Random, choices: list[tuple[str, str, int]]) -> tuple[str, str]:
    """Pick an outcome by weight."""
    code, method, _w = rng.choices(choices, weights=[c[2] for c in choices])[0]
    return code, method


def seed_demo(url: str, *, customers: int = 2000, visits: int = 20000, seed: int = 7) -> str:
    """Fill the database with demo teams, users, customers and visits; return a summary."""
    started = time.perf_counter()
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            team_ids, team_store, staff = _seed_people(conn, customers)
            counts = _seed_customers(
                conn,
                rng=random.Random(seed),
                customers=customers,
                visits=visits,
                team_ids=team_ids,
                team_store=team_store,
                staff=staff,
            )
        if url.startswith("sqlite"):
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    finally:
        engine.dispose()
    took = time.perf_counter() - started
    return (
        f"demo data: {len(team_ids)} teams, {sum(len(v) for v in staff.values())} staff, "
        f"{counts[0]} customers, {counts[1]} visits, {counts[2]} stage changes in {took:.1f}s"
    )


def _seed_people(conn: Connection, customers: int):
    """Insert teams and users (idempotent by name); return ids by team and role."""
    now = datetime.now(UTC)
    teams, users = _plan_teams(customers)
    existing = {name for (name,) in conn.execute(select(Team.name))}
    rows = [{"name": n, "is_store": s, "created_at": now} for n, s in teams if n not in existing]
    if rows:
        conn.execute(insert(Team), rows)
    team_rows = conn.execute(select(Team.name, Team.id, Team.is_store)).all()
    team_ids = {name: tid for name, tid, _s in team_rows}
    team_store = {tid: bool(s) for _n, tid, s in team_rows}
    known = {name for (name,) in conn.execute(select(User.name))}
    new_users = [
        {
            "name": name,
            "role": role,
            "team_id": team_ids.get(team) if team else None,
            "active": True,
            "webauthn_handle": secrets.token_bytes(32),
            "created_at": now,
        }
        for name, role, team in users
        if name not in known
    ]
    if new_users:
        conn.execute(insert(User), new_users)
    staff: dict[tuple[int, str], list[int]] = {}
    for uid, role, tid in conn.execute(select(User.id, User.role, User.team_id)):
        if tid is not None:
            staff.setdefault((tid, role), []).append(uid)
    return team_ids, team_store, staff


def _month_numbers(created: list[datetime]) -> Iterator[str]:
    """Number customers by creation month without gaps (C + yyyymm + sequence)."""
    seq: dict[tuple[int, int], int] = {}
    for at in created:
        local = at.astimezone(TZ)
        key = (local.year, local.month)
        seq[key] = seq.get(key, 0) + 1
        yield customer_number(local.year, local.month, seq[key])


def _seed_customers(conn, *, rng, customers, visits, team_ids, team_store, staff):
    """Insert customers with their visits and stage history in chunks."""
    if conn.execute(select(func.count()).select_from(Customer)).scalar_one() > 0:
        return (0, 0, 0)
    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    field_teams = [t for t, s in team_store.items() if not s and staff.get((t, "rep"))]
    stores = [t for t, s in team_store.items() if s]
    created = sorted(now - timedelta(days=rng.uniform(0, 400)) for _ in range(customers))
    numbers = list(_month_numbers(created))
    per_customer = visits / max(1, customers)
    total_visits = total_moves = 0
    chunk = 5000
    next_id = 1
    for start in range(0, customers, chunk):
        cust_rows, visit_rows, move_rows = [], [], []
        for i in range(start, min(customers, start + chunk)):
            cid = next_id
            next_id += 1
            is_store = stores and rng.random() < 0.2
            team = rng.choice(stores) if is_store else rng.choice(field_teams)
            row = _customer_row(rng, cid, numbers[i], created[i], team, is_store, staff)
            n_visits = min(400, int(rng.expovariate(1 / per_customer))) if per_customer else 0
            last = None
            users = staff.get((team, "clerk" if is_store else "rep")) or staff.get(
                (team, "manager"), [1]
            )
            outcomes = STORE_OUTCOMES if is_store else FIELD_OUTCOMES
            span = max(1.0, (now - created[i]).total_seconds())
            for _ in range(n_visits):
                at = created[i] + timedelta(seconds=rng.uniform(0, span))
                at = at.replace(hour=rng.randint(1, 11), minute=rng.randint(0, 59))
                if at > now:
                    at = now - timedelta(minutes=rng.randint(5, 600))
                code, method = _weighted(rng, outcomes)
                lat = lng = acc = dist = None
                if method == "field" and row["lat"] is not None:
                    lat = row["lat"] + rng.uniform(-0.004, 0.004)
                    lng = row["lng"] + rng.uniform(-0.004, 0.004)
                    acc = rng.choice([8.0, 15.0, 30.0, 65.0])
                    dist = round(abs(lat - row["lat"]) * 111000 + abs(lng - row["lng"]) * 95000)
                visit_rows.append(
                    {
                        "customer_id": cid,
                        "user_id": row["owner_id"] or rng.choice(users),
                        "outcome": code,
                        "method": method,
                        "at": at,
                        "device_at": at,
                        "lat": lat,
                        "lng": lng,
                        "accuracy_m": acc,
                        "distance_m": dist,
                        "note": "",
                        "feedback": "",
                        "next_action": "",
                        "amount_cents": rng.randint(50, 5000) * 100
                        if code == "store_purchase"
                        else None,
                        "idempotency_key": uuid.UUID(int=rng.getrandbits(128)).hex,
                    }
                )
                last = at if last is None or at > last else last
            if last is not None:
                row["last_visit_at"] = last
                row["next_follow_up_on"] = next_follow_up(
                    last.astimezone(TZ).date(), Level(row["level"]), DEFAULT_CADENCE_DAYS
                )
            else:
                row["next_follow_up_on"] = created[i].astimezone(TZ).date() + timedelta(days=3)
            move_rows.extend(_moves(rng, row, created[i], now, users))
            cust_rows.append(row)
        conn.execute(insert(Customer), cust_rows)
        if visit_rows:
            _insert_visits(conn, visit_rows)
        if move_rows:
            conn.execute(insert(StageChange), move_rows)
        total_visits += len(visit_rows)
        total_moves += len(move_rows)
    _after_customers(conn, numbers, today)
    return (customers, total_visits, total_moves)


VISIT_COLUMNS = (
    "customer_id",
    "user_id",
    "outcome",
    "method",
    "at",
    "device_at",
    "lat",
    "lng",
    "accuracy_m",
    "distance_m",
    "note",
    "feedback",
    "next_action",
    "amount_cents",
    "idempotency_key",
)


def _sqlite_time(at: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert_visits(conn: Connection, rows: list[dict]) -> None:
    """Bulk insert visits: the driver's executemany on SQLite (fast), Core elsewhere."""
    if conn.dialect.name != "sqlite":
        conn.execute(insert(Visit), rows)
        return
    columns, marks = ", ".join(VISIT_COLUMNS), ", ".join("?" for _ in VISIT_COLUMNS)
    sql = f"INSERT INTO visit ({columns}) VALUES ({marks})"  # noqa: S608 (constant names)
    tuples = [
        tuple(_sqlite_time(r[c]) if c in ("at", "device_at") else r[c] for c in VISIT_COLUMNS)
        for r in rows
    ]
    conn.exec_driver_sql(sql, tuples)


def _customer_row(rng, cid, number, created, team, is_store, staff) -> dict:
    """One customer row with derived search fields."""
    if is_store:
        name = _person(rng)
        parts = [name[0], name[1:]]
        kind, industry, city = "person", "", ""
        owner = None
    else:
        parts, industry, city = _company(rng)
        name = "".join(parts)
        kind = "company"
        reps = staff.get((team, "rep"), [])
        owner = None if rng.random() < 0.1 or not reps else rng.choice(reps)
    phone = _mobile(rng)  # generated in normalised form
    lat = lng = None
    if city:
        _c, clat, clng = next(c for c in N.CITIES if c[0] == city)
        lat, lng = clat + rng.uniform(-0.2, 0.2), clng + rng.uniform(-0.2, 0.2)
    level = rng.choices(["A", "B", "C"], weights=[15, 35, 50])[0]
    stage_i = min(len(STAGE_ORDER) - 1, int(rng.expovariate(0.6)))
    stage = STAGE_ORDER[stage_i].value
    status = "won" if stage in ("won", "after_sales") else rng.choice(["potential", "intent"])
    loss = None
    if status != "won" and rng.random() < 0.06:
        status, loss = "lost", rng.choice(list(LossReason)).value
    filled = rng.random()
    return {
        "id": cid,
        "number": number,
        "name": name,
        **_search_fields(parts, phone),
        "kind": kind,
        "phone": phone,
        "owner_id": owner,
        "team_id": team,
        "level": level,
        "source": "walk_in" if is_store else rng.choice(list(Source)).value,
        "contact_name": _person(rng) if kind == "company" and filled > 0.2 else "",
        "email": f"contact{cid}@example.cn" if filled > 0.5 else "",
        "industry": industry,
        "needs": rng.choice(N.NEEDS) if filled > 0.4 else "",
        "address": f"{city}市{rng.choice(N.WORDS)}路{rng.randint(1, 999)}号" if city else "",
        "lat": lat,
        "lng": lng,
        "expected_amount_cents": rng.randint(1, 500) * 1000000 if filled > 0.6 else None,
        "status": status,
        "loss_reason": loss,
        "stage": stage,
        "custom": {},
        "created_by": owner,
        "created_at": created,
        "updated_at": created,
        "version": 1,
        "last_visit_at": None,
        "next_follow_up_on": None,
    }


def _moves(rng, row, created, now, users) -> list[dict]:
    """Stage history consistent with the customer's current stage and status."""
    target = STAGE_ORDER.index(row["stage"]) if row["stage"] in STAGE_ORDER else 0
    moves = [
        {
            "customer_id": row["id"],
            "user_id": row["owner_id"],
            "at": created,
            "from_stage": None,
            "to_stage": "lead",
            "from_status": None,
            "to_status": "potential",
            "reason": None,
        }
    ]
    at = created
    for step in range(1, target + 1):
        at = min(now, at + timedelta(days=rng.uniform(1, 40)))
        moves.append(
            {
                "customer_id": row["id"],
                "user_id": row["owner_id"] or rng.choice(users),
                "at": at,
                "from_stage": STAGE_ORDER[step - 1].value,
                "to_stage": STAGE_ORDER[step].value,
                "from_status": None,
                "to_status": None,
                "reason": None,
            }
        )
    if row["status"] in ("lost", "won", "intent"):
        at = min(now, at + timedelta(days=rng.uniform(0, 20)))
        moves.append(
            {
                "customer_id": row["id"],
                "user_id": row["owner_id"] or rng.choice(users),
                "at": at,
                "from_stage": None,
                "to_stage": None,
                "from_status": "potential",
                "to_status": row["status"],
                "reason": row["loss_reason"],
            }
        )
    return moves


def _after_customers(conn: Connection, numbers: list[str], today: date) -> None:
    """Keep the number counter (when the customers feature has one) past the demo numbers."""
    dialect_has = conn.dialect.has_table(conn, "customer_number_counter")
    if not dialect_has:
        return
    last: dict[str, int] = {}
    for number in numbers:
        period, seq = number[1:7], int(number[7:])
        last[period] = max(last.get(period, 0), seq)
    for period, seq in last.items():
        conn.execute(
            text(
                "INSERT INTO customer_number_counter (period, last) VALUES (:p, :s) "
                "ON CONFLICT (period) DO UPDATE SET last = CASE WHEN excluded.last > "
                "customer_number_counter.last THEN excluded.last ELSE customer_number_counter.last "
                "END"  # the larger of the two, in SQL both SQLite and PostgreSQL speak
            ),
            {"p": period, "s": seq},
        )
