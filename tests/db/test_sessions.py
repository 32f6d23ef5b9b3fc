"""The session lookup every request makes: one Core query, the same rules as the ORM one had."""

from datetime import timedelta

from sqlalchemy import update

from db.models import User
from db.sessions import LoadedSession, SessionUser, session_delete, session_load, session_save
from db.types import utcnow
from tests import factories as make


async def _saved(db, *, user_id, data=None, ttl=timedelta(hours=1), id_hash="h" * 64):
    """Store a session row and commit it."""
    await session_save(
        db, id_hash=id_hash, user_id=user_id, data=data or {}, expires_at=utcnow() + ttl
    )
    await db.commit()
    return id_hash


async def test_a_live_session_brings_its_user_and_team_as_plain_values(db, sessionmaker):
    store = await make.team(db, "静安门店", store=True)
    clerk = await make.user(db, role="clerk", team=store, name="吴婷", locale="en")
    key = await _saved(db, user_id=clerk.id, data={"flash": [["info", "hi"]]})
    async with sessionmaker.kw["bind"].connect() as conn:
        found = await session_load(conn, id_hash=key, now=utcnow())
    assert found == LoadedSession(
        data={"flash": [["info", "hi"]]},
        user_id=clerk.id,
        user=SessionUser(
            id=clerk.id,
            name="吴婷",
            role="clerk",
            team_id=store.id,
            locale="en",
            may_handle_privacy=False,
            team_is_store=True,
        ),
    )


async def test_an_orm_session_gives_the_same_answer_as_a_connection(db, sessionmaker):
    rep = await make.user(db, role="rep", team=await make.team(db))
    key = await _saved(db, user_id=rep.id)
    async with sessionmaker.kw["bind"].connect() as conn:
        via_connection = await session_load(conn, id_hash=key, now=utcnow())
    assert await session_load(db, id_hash=key, now=utcnow()) == via_connection
    assert via_connection.user.team_is_store is False


async def test_an_expired_session_is_not_found(db):
    rep = await make.user(db, role="rep", team=await make.team(db))
    key = await _saved(db, user_id=rep.id, ttl=timedelta(minutes=5))
    assert await session_load(db, id_hash=key, now=utcnow()) is not None
    later = utcnow() + timedelta(minutes=6)
    assert await session_load(db, id_hash=key, now=later) is None


async def test_a_revoked_session_is_not_found(db):
    rep = await make.user(db, role="rep", team=await make.team(db))
    key = await _saved(db, user_id=rep.id)
    await session_delete(db, id_hash=key)
    await db.commit()
    assert await session_load(db, id_hash=key, now=utcnow()) is None
    assert await session_load(db, id_hash="x" * 64, now=utcnow()) is None


async def test_a_deactivated_users_session_comes_back_without_the_user(db):
    rep = await make.user(db, role="rep", team=await make.team(db))
    key = await _saved(db, user_id=rep.id)
    await db.execute(update(User).where(User.id == rep.id).values(active=False))
    await db.commit()
    found = await session_load(db, id_hash=key, now=utcnow())
    # The middleware ends such a session: a row written for a user who may no longer sign in.
    assert found is not None and found.user_id == rep.id and found.user is None


async def test_a_visitors_session_has_data_and_no_user(db):
    key = await _saved(db, user_id=None, data={"challenge": "abc"})
    found = await session_load(db, id_hash=key, now=utcnow())
    assert found == LoadedSession(data={"challenge": "abc"}, user_id=None, user=None)


async def test_a_user_without_a_team_and_with_the_privacy_permission(db):
    admin = await make.user(db, role="admin", name="管理员")
    await db.execute(update(User).where(User.id == admin.id).values(may_handle_privacy=True))
    await db.commit()
    key = await _saved(db, user_id=admin.id)
    found = await session_load(db, id_hash=key, now=utcnow())
    assert found.user.team_id is None and found.user.team_is_store is False
    assert found.user.may_handle_privacy is True and found.user.role == "admin"
