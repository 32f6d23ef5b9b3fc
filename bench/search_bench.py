"""Search and customer page at 100,000 customers.

    .venv/bin/python -m bench.search_bench [--customers 100000] [--seconds 5] [--rebuild]

1. Builds (or reuses) out/bench/search-<N>.db: migrated schema, teams and staff, N customers
   (realistic Chinese company names from word lists, ~10% English names, store customers
   with person names, mobiles whose last four digits repeat), contacts for a third of them.
   One sqlite3 transaction with executemany; the FTS index fills through its triggers.
2. Times db.search.customer_search in-process (the server-side cost of one search) per
   kind of query, for an admin (sees everything), a manager and a rep.
3. Starts `kehu serve` on 127.0.0.1 and measures, at concurrency 1 and 16 for a bounded
   time each: the search fragment (mixed queries, as the header box sends them), the
   customer page, and the floor (a static file of the same server).
"""

import argparse
import asyncio
import json
import random
import secrets
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from bench.common import HEADER, ROOT, Server, format_row, machine, run_load
from db import demo_names as N
from domain.customers import customer_number
from domain.enums import Role
from domain.names import name_key, pinyin_forms
from domain.users import Actor

OUT = ROOT / "out" / "bench"
SEED = 20261123
TARGET = "上海华东机械有限公司"
TARGET_PHONE = "13800138000"
MOBILE_PREFIXES = ["130", "131", "135", "136", "138", "139", "150", "158", "177", "186", "188"]
N_FIELD_TEAMS, N_STORES, REPS_PER_TEAM = 10, 4, 20
# The same rows the migration's triggers keep in customer_fts (rowid = customer id).
FTS_FILL = """
INSERT INTO customer_fts (rowid, name, number, phone, pinyin, initials, contacts)
SELECT c.id, c.name, c.number, c.phone, c.name_pinyin, c.name_initials,
       trim(c.contact_name || ' ' || coalesce(k.names, ''))
FROM customer c
LEFT JOIN (SELECT customer_id, group_concat(name, ' ') AS names FROM contact
           GROUP BY customer_id) k ON k.customer_id = c.id
"""


def _time(at: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@lru_cache(maxsize=8192)
def _pinyin(part: str) -> tuple[str, str]:
    """Pinyin of one name part (names are built from few parts: cache them)."""
    return pinyin_forms(part)


def _person(rng: random.Random) -> str:
    """A Chinese person's name."""
    return rng.choice(N.SURNAMES) + "".join(rng.choice(N.GIVEN) for _ in range(rng.randint(1, 2)))


def _name_parts(rng: random.Random, store: bool) -> list[str]:
    """A customer name as parts: Chinese company, English company, or a person (stores)."""
    if store:
        name = _person(rng)
        return [name[0], name[1:]]
    if rng.random() < 0.1:
        zh, en = rng.choice(N.INDUSTRIES)
        return [rng.choice(N.EN_WORDS), " " + en, " " + rng.choice(N.EN_SUFFIX)]
    city = rng.choice(N.CITIES)[0]
    zh, _en = rng.choice(N.INDUSTRIES)
    return [city, rng.choice(N.WORDS), rng.choice(N.WORDS), zh, rng.choice(N.SUFFIXES)]


def build(path: Path, customers: int) -> float:
    """Create a migrated database with staff and `customers` customers; return seconds."""
    from db.migrate import upgrade

    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    upgrade(f"sqlite+aiosqlite:///{path}")
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    # Row-by-row FTS triggers are the slow part of a bulk load: drop them, load, index all
    # rows at once, and put the very same triggers back (their SQL is kept from the schema).
    # Secondary indexes too: building them once after the load (a sort) beats updating
    # them row by row.
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%'"
    ).fetchall()
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('customer', 'contact')"
    ).fetchall()
    with con:
        for name, _sql in triggers:
            con.execute(f'DROP TRIGGER "{name}"')
        for name, _sql in indexes:
            con.execute(f'DROP INDEX "{name}"')
        teams = [(f"华东销售{i + 1}组", 0) for i in range(N_FIELD_TEAMS)]
        teams += [(f"{N.CITIES[i][0]}旗舰店", 1) for i in range(N_STORES)]
        con.executemany(
            "INSERT INTO team (name, is_store, created_at) VALUES (?, ?, ?)",
            [(n, s, _time(now)) for n, s in teams],
        )
        team_ids = [r[0] for r in con.execute("SELECT id FROM team ORDER BY id")]
        users = [("王芳", "admin", None)]
        for i, tid in enumerate(team_ids):
            store = i >= N_FIELD_TEAMS
            users.append((f"经理{i + 1}", "manager", tid))
            for j in range(3 if store else REPS_PER_TEAM):
                users.append((f"{_person(rng)}{i + 1}-{j + 1}", "clerk" if store else "rep", tid))
        con.executemany(
            "INSERT INTO user (name, role, team_id, active, webauthn_handle, created_at)"
            " VALUES (?, ?, ?, 1, ?, ?)",
            [(n, r, t, secrets.token_bytes(32), _time(now)) for n, r, t in users],
        )
        staff: dict[tuple[int, str], list[int]] = {}
        for uid, role, tid in con.execute("SELECT id, role, team_id FROM user"):
            staff.setdefault((tid, role), []).append(uid)

        created = sorted(now - timedelta(days=rng.uniform(0, 365)) for _ in range(customers))
        seq: dict[str, int] = {}
        rows, contacts = [], []
        for i, at in enumerate(created):
            local = at + timedelta(hours=8)
            period = f"{local.year:04d}{local.month:02d}"
            seq[period] = seq.get(period, 0) + 1
            number = customer_number(local.year, local.month, seq[period])
            store = rng.random() < 0.15
            tid = rng.choice(team_ids[N_FIELD_TEAMS:] if store else team_ids[:N_FIELD_TEAMS])
            parts = _name_parts(rng, store)
            phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99_999_999):08d}"
            if i == customers // 2:
                parts, phone, tid, store = (
                    ["上海", "华东", "机械", "有限公司"],
                    TARGET_PHONE,
                    team_ids[0],
                    False,
                )
            name = "".join(parts)
            forms = [_pinyin(p) for p in parts]
            if store:
                owner = None if rng.random() < 0.7 else rng.choice(staff[(tid, "clerk")])
            else:
                owner = None if rng.random() < 0.1 else rng.choice(staff[(tid, "rep")])
            last_visit = at + timedelta(days=rng.uniform(0, 30)) if rng.random() < 0.8 else None
            rows.append(
                (
                    number,
                    name,
                    name_key(name),
                    "".join(f for f, _i in forms),
                    "".join(i for _f, i in forms),
                    "person" if store else "company",
                    phone,
                    phone[-4:],
                    owner,
                    tid,
                    rng.choices("ABC", weights=[15, 35, 50])[0],
                    "walk_in"
                    if store
                    else rng.choice(["trade_show", "referral", "website", "cold_call"]),
                    "" if store else _person(rng),
                    "",
                    "",
                    rng.choice(N.NEEDS) if rng.random() < 0.3 else "",
                    "",
                    "potential",
                    "lead",
                    "{}",
                    json.dumps(rng.sample(N.TAGS, rng.randint(0, 2)), ensure_ascii=False),
                    (local.date() + timedelta(days=rng.randint(0, 40))).isoformat(),
                    _time(last_visit) if last_visit and last_visit < now else None,
                    owner,
                    _time(at),
                    _time(at),
                    1,
                )
            )
        con.executemany(
            "INSERT INTO customer (number, name, name_key, name_pinyin, name_initials, kind,"
            " phone, phone_last4, owner_id, team_id, level, source, contact_name, email,"
            " industry, needs, address, status, stage, custom, tags, next_follow_up_on,"
            " last_visit_at, created_by, created_at, updated_at, version)"
            " VALUES (" + ", ".join("?" * 27) + ")",
            rows,
        )
        for cid in range(1, customers + 1, 3):
            contacts.append(
                (
                    cid,
                    rng.choice(["欧阳", "司马", "诸葛", *N.SURNAMES]) + rng.choice(N.GIVEN),
                    rng.choice(N.CONTACT_ROLES),
                    "",
                    "",
                    "",
                    _time(now),
                    _time(now),
                )
            )
        con.executemany(
            "INSERT INTO contact (customer_id, name, role, phone, email, note, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )
        con.executemany(
            "INSERT INTO customer_number_counter (period, last) VALUES (?, ?)"
            " ON CONFLICT (period) DO UPDATE SET last = excluded.last",
            list(seq.items()),
        )
        for _name, sql in indexes:
            con.execute(sql)
        if triggers:
            con.execute("DELETE FROM customer_fts")
            con.execute(FTS_FILL)
            for _name, sql in triggers:
                con.execute(sql)
    con.execute("ANALYZE")
    con.close()
    took = time.perf_counter() - started
    print(f"built {path.name}: {customers} customers, {len(contacts)} contacts in {took:.1f}s")
    return took


def _ensure(path: Path, customers: int, rebuild: bool) -> str:
    """Build the database unless a complete one exists; say which."""
    if path.exists() and not rebuild:
        con = sqlite3.connect(path)
        try:
            have = con.execute("SELECT count(*) FROM customer").fetchone()[0]
        except sqlite3.Error:
            have = -1
        con.close()
        if have == customers:
            return f"reused `{path.relative_to(ROOT)}` ({have} customers)"
    took = build(path, customers)
    return (
        f"`{path.relative_to(ROOT)}` built in **{took:.1f} s** "
        "(migrate, bulk insert, indexes, FTS, ANALYZE)"
    )


def _people(path: Path) -> dict[str, Actor]:
    """An admin, a manager and a rep of the first field team, as actors."""
    con = sqlite3.connect(path)
    out = {}
    for role in ("admin", "manager", "rep"):
        uid, name, team = con.execute(
            "SELECT id, name, team_id FROM user WHERE role = ? ORDER BY id LIMIT 1", (role,)
        ).fetchone()
        out[role] = Actor(id=uid, name=name, role=Role(role), team_id=team)
    con.close()
    return out


def _queries(path: Path) -> dict[str, str]:
    """One query of each kind the search box sees, taken from the data."""
    con = sqlite3.connect(path)
    number = con.execute("SELECT number FROM customer WHERE name = ?", (TARGET,)).fetchone()[0]
    con.close()
    return {
        "CJK 1 char 华": "华",
        "CJK 2 chars 华东": "华东",
        "CJK 2 chars (rare) 鑫达": "鑫达",
        "CJK 4 chars 华东机械": "华东机械",
        "CJK 6 chars 上海华东机械": "上海华东机械",
        "pinyin initials shhd": "shhd",
        "full pinyin shanghai": "shanghai",
        "Latin name acme": "acme",
        "last four digits 8000": "8000",
        "full phone 138 0013 8000": "138 0013 8000",
        "number": number,
        "contact name 欧阳": "欧阳",
        "no match 不存在的公司": "不存在的公司",
    }


async def _in_process(path: Path, actors: dict[str, Actor], queries: dict[str, str], rounds: int):
    """Time customer_search directly (server-side cost without HTTP) per query and actor."""
    from db.engine import make_engine, make_sessionmaker
    from db.search import customer_search

    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_sessionmaker(engine)
    results = {}
    async with sessions() as db:
        for who, actor in actors.items():
            for label, q in queries.items():
                times, hits = [], []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    hits = await customer_search(db, actor=actor, q=q)
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                results[(who, label)] = (statistics.median(times), times[-1], len(hits))
    await engine.dispose()
    return results


NOTES = (
    "Reading the numbers:",
    "",
    "- Every search is one SQL statement: a UNION of small indexed branches (exact number,"
    " exact phone, last four digits, name/pinyin/initials prefix, FTS5 trigram fragment or,"
    " for 1-2 CJK characters, LIKE), each limited to 20 and filtered by the user's"
    " visibility. `tests/db/test_search.py` checks with EXPLAIN QUERY PLAN that no branch"
    " reads the whole customer table.",
    "- The slowest kind is a rare 1-2 character CJK fragment for an admin (`欧阳` above"
    " matches only contacts): SQLite 3.40's trigram index cannot answer it, so LIKE walks the"
    " covering index `ix_customer_like` over every customer. A rep or a manager walks only"
    " their part of it. A frequent fragment (`华`) stops at the first 20 matches.",
    "- One `kehu serve` process is CPU-bound at 16 clients (the client shares the two"
    " CPUs): latency there is mostly queueing. The customer page no longer writes inside"
    " the request: its `customer_viewed` audit event and recently-viewed row are written"
    " after the response by one writer in batches (`db/view_log.py`).",
    "- The machine is shared with other work: compare the ratios to the floor, and the load"
    " average above.",
)
DOCS = ROOT / "docs" / "BENCHMARKS.md"
SECTION = "## Search and customer page"


def write_section(text: str, section: str = SECTION, docs: Path = DOCS) -> None:
    """Replace (or append) one "## ..." section of docs/BENCHMARKS.md, keeping the others."""
    docs.parent.mkdir(parents=True, exist_ok=True)
    old = docs.read_text() if docs.exists() else "# Benchmarks\n"
    lines = old.rstrip("\n").split("\n")
    try:
        start = lines.index(section)
    except ValueError:
        docs.write_text("\n".join(lines) + "\n\n" + text.rstrip("\n") + "\n")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = lines[end:]
    new = [*lines[:start], *text.rstrip("\n").split("\n"), *(["", *rest] if rest else [])]
    docs.write_text("\n".join(new) + "\n")


def main() -> None:
    """Build or reuse the database, then measure in-process and over HTTP."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="per HTTP measurement")
    parser.add_argument("--rounds", type=int, default=20, help="in-process runs per query")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    command = "python -m bench.search_bench " + " ".join(sys.argv[1:])
    say(f"- Command: `{command.strip()}`")
    say(f"- Machine: {machine()}; load average before the run: {_loadavg()}")
    path = OUT / f"search-{args.customers}.db"
    built = _ensure(path, args.customers, args.rebuild)
    say(f"- Data: {built}")
    actors = _people(path)
    queries = _queries(path)

    say()
    say(
        f"Server-side time of one search: `db.search.customer_search` called in-process "
        f"through SQLAlchemy + aiosqlite, one query per search (median / max of "
        f"{args.rounds} runs, ms; number of results in brackets, limit 20). Admin sees all "
        f"{args.customers:,} customers, the manager a team of about a tenth, the rep their "
        f"own customers plus the team's pool:"
    )
    say()
    timings = asyncio.run(_in_process(path, actors, queries, args.rounds))
    say("| query | " + " | ".join(actors) + " |")
    say("|---|" + "---:|" * len(actors))
    worst = 0.0
    medians = []
    for label, q in queries.items():
        cells = []
        for who in actors:
            med, mx, n = timings[(who, label)]
            worst = max(worst, mx)
            medians.append(med)
            cells.append(f"{med:.1f} / {mx:.1f} ({n})")
        say(f"| {label} `{q}` | " + " | ".join(cells) + " |")
    say()
    say(
        f"Slowest median {max(medians):.1f} ms, slowest single run {worst:.1f} ms "
        f"(target: < 50 ms per search)."
    )

    search_paths = [f"/customers?q={quote(q)}" for q in queries.values()]
    con = sqlite3.connect(path)
    ids = [r[0] for r in con.execute("SELECT id FROM customer ORDER BY random() LIMIT 500")]
    rep_ids = [
        r[0]
        for r in con.execute(
            "SELECT id FROM customer WHERE team_id = ? AND (owner_id = ? OR owner_id IS NULL)"
            " ORDER BY random() LIMIT 500",
            (actors["rep"].team_id, actors["rep"].id),
        )
    ]
    con.close()
    say()
    say(
        f"HTTP against one `kehu serve` on 127.0.0.1 (the client, a lean asyncio HTTP/1.1 "
        f"keep-alive loop from bench/common.py, shares the CPUs; closed loop, "
        f"{args.seconds:g} s per line after a warm-up request per connection; search = the "
        f"header box's HTMX fragment over the queries above; customer pages of customers "
        f"the user may see, each view auditing after the response; `vs floor` = req/s over the "
        f"static file's req/s at the same concurrency):"
    )
    say()
    say("```")
    say(HEADER)
    hx = {"HX-Request": "true"}
    with Server(path) as srv:
        admin = srv.sign_in(actors["admin"].id)
        rep = srv.sign_in(actors["rep"].id)
        for conc in (1, 16):
            floor = run_load(
                srv.origin, [srv.static_path()], concurrency=conc, seconds=args.seconds
            )
            say(format_row("floor: static file", floor, floor))
            for name, paths, cookie, headers in (
                ("search fragment (rep)", search_paths, rep, hx),
                ("search fragment (admin)", search_paths, admin, hx),
                ("customer page (rep)", [f"/customers/{i}" for i in rep_ids], rep, None),
                ("customer page (admin)", [f"/customers/{i}" for i in ids], admin, None),
            ):
                result = run_load(
                    srv.origin,
                    paths,
                    concurrency=conc,
                    seconds=args.seconds,
                    cookies=cookie,
                    headers=headers,
                )
                say(format_row(name, result, floor))
    say("```")
    say()
    say(f"Whole run: {time.perf_counter() - started:.0f} s.")
    say()
    for note in NOTES:
        say(note)
    if not args.no_docs:
        text = "\n".join(
            [
                SECTION,
                "",
                f"Written by `bench/search_bench.py` on "
                f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
                "",
                *out,
            ]
        )
        write_section(text)
        print(f"wrote the '{SECTION}' section of {DOCS.relative_to(ROOT)}")


def _loadavg() -> str:
    """The 1/5/15-minute load averages (the machine may be shared)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
