"""Realistic demo data: teams, stores, users of every role, customers and visits."""

import secrets
import time

from sqlalchemy import create_engine, event, func, insert, select
from sqlalchemy.engine import Engine

from db.engine import _sqlite_pragmas, sync_url
from db.models import Team, User
from db.types import utcnow

TEAMS = [
    ("华东销售一组", False),
    ("华北销售组", False),
    ("South China Sales", False),
    ("南京西路门店", True),
    ("徐家汇门店", True),
]

USERS = [
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


def seed_demo(url: str, *, customers: int = 2000, visits: int = 20000, seed: int = 7) -> str:
    """Fill the database with demo teams, users, customers and visits; return a summary."""
    started = time.perf_counter()
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            now = utcnow()
            existing = {name for (name,) in conn.execute(select(Team.name))}
            rows = [
                {"name": n, "is_store": s, "created_at": now} for n, s in TEAMS if n not in existing
            ]
            if rows:
                conn.execute(insert(Team), rows)
            team_ids = dict(conn.execute(select(Team.name, Team.id)).all())
            known = {name for (name,) in conn.execute(select(User.name))}
            users = [
                {
                    "name": name,
                    "role": role,
                    "team_id": team_ids.get(team) if team else None,
                    "active": True,
                    "webauthn_handle": secrets.token_bytes(32),
                    "created_at": now,
                }
                for name, role, team in USERS
                if name not in known
            ]
            if users:
                conn.execute(insert(User), users)
    finally:
        engine.dispose()
    took = time.perf_counter() - started
    return f"demo data: {len(TEAMS)} teams, {len(USERS)} users in {took:.1f}s"
