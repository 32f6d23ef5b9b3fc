"""Passkey storage, enrolment links and the admin's user overview, against a real database."""

import hashlib
from datetime import timedelta

from sqlalchemy import select

from db.credentials import (
    credential_add,
    credential_exists,
    credential_find,
    credential_ids,
    credential_list,
    credential_record_use,
    credential_rename,
    credential_revoke,
)
from db.enrolment import enrolment_create, enrolment_find, enrolment_use
from db.models import Credential, EnrolmentToken
from db.types import utcnow
from db.users import team_list, user_get, user_overview, user_set_active
from tests import factories as make


async def add(db, user, cid: bytes, name: str = "Chrome on Android"):
    """Store a passkey."""
    row = await credential_add(
        db,
        user_id=user.id,
        credential_id=cid,
        public_key=b"key-" + cid,
        sign_count=0,
        transports=["internal"],
        name=name,
        now=utcnow(),
    )
    await db.commit()
    return row


async def test_add_find_and_list(db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    row = await add(db, user, b"one")
    assert await credential_exists(db, credential_id=b"one")
    assert not await credential_exists(db, credential_id=b"two")
    found, owner, owner_team = await credential_find(db, credential_id=b"one")
    assert found.id == row.id and owner.id == user.id and owner_team.id == team.id
    assert await credential_find(db, credential_id=b"nope") is None
    await add(db, user, b"two")
    assert [c.credential_id for c in await credential_list(db, user_id=user.id)] == [b"one", b"two"]
    assert set(await credential_ids(db, user_id=user.id)) == {b"one", b"two"}


async def test_revoke_never_the_last_active_passkey(db):
    user = await make.user(db, role="admin")
    first = await add(db, user, b"one")
    second = await add(db, user, b"two")
    now = utcnow()
    assert await credential_revoke(db, credential_pk=first.id, user_id=user.id, now=now)
    assert not await credential_revoke(db, credential_pk=second.id, user_id=user.id, now=now)
    assert not await credential_revoke(db, credential_pk=first.id, user_id=user.id, now=now)
    await db.commit()
    assert [c.id for c in await credential_list(db, user_id=user.id)] == [second.id]
    assert len(await credential_list(db, user_id=user.id, include_revoked=True)) == 2
    assert await credential_ids(db, user_id=user.id) == [b"two"]


async def test_revoke_only_your_own(db):
    owner = await make.user(db, name="甲", role="admin")
    other = await make.user(db, name="乙", role="admin")
    row = await add(db, owner, b"one")
    await add(db, owner, b"two")
    assert not await credential_revoke(db, credential_pk=row.id, user_id=other.id, now=utcnow())
    assert not await credential_rename(db, credential_pk=row.id, user_id=other.id, name="x")


async def test_record_use_and_rename(db):
    user = await make.user(db, role="admin")
    row = await add(db, user, b"one")
    when = utcnow()
    await credential_record_use(db, credential_pk=row.id, sign_count=7, now=when)
    assert await credential_rename(db, credential_pk=row.id, user_id=user.id, name="Work phone")
    await db.commit()
    stmt = select(Credential).execution_options(populate_existing=True)
    stored = (await db.execute(stmt)).scalar_one()
    assert stored.sign_count == 7
    assert stored.last_used_at == when
    assert stored.name == "Work phone"


async def test_enrolment_link_is_a_hash_used_once_and_replaced_on_reissue(db):
    user = await make.user(db, role="admin")
    now = utcnow()
    token = await enrolment_create(db, user_id=user.id, created_by=None, ttl_hours=24, now=now)
    await db.commit()
    link = (await db.execute(select(EnrolmentToken))).scalar_one()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.expires_at == now + timedelta(hours=24)
    found, owner = await enrolment_find(db, token=token)
    assert found.id == link.id and owner.id == user.id
    assert await enrolment_find(db, token=token + "x") is None
    assert await enrolment_use(db, token_id=link.id, now=now)
    assert not await enrolment_use(db, token_id=link.id, now=now)
    newer = await enrolment_create(db, user_id=user.id, created_by=None, ttl_hours=24, now=now)
    await db.commit()
    assert newer != token


async def test_user_overview_counts_active_passkeys_and_last_sign_in(db):
    team = await make.team(db, "徐汇门店", store=True)
    clerk = await make.user(db, name="周敏", role="clerk", team=team)
    admin = await make.user(db, name="王芳", role="admin")
    one = await add(db, clerk, b"one")
    await add(db, clerk, b"two")
    when = utcnow()
    await credential_record_use(db, credential_pk=one.id, sign_count=1, now=when)
    await credential_revoke(db, credential_pk=one.id, user_id=clerk.id, now=when)
    await db.commit()
    rows = {r.id: r for r in await user_overview(db)}
    assert rows[clerk.id].passkeys == 1
    assert rows[clerk.id].last_sign_in == when
    assert rows[clerk.id].team_name == "徐汇门店" and rows[clerk.id].team_is_store
    assert rows[admin.id].passkeys == 0 and rows[admin.id].last_sign_in is None
    assert rows[admin.id].team_name is None


async def test_user_set_active_and_get(db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    assert await user_set_active(db, user_id=user.id, active=False)
    assert not await user_set_active(db, user_id=user.id, active=False)
    await db.commit()
    _found, found_team = await user_get(db, user_id=user.id)
    assert found_team.id == team.id
    assert await user_get(db, user_id=9999) is None
    assert [t.name for t in await team_list(db)] == [team.name]
