"""Handover when someone leaves, and a manager's bulk Reassign: preview counts, then one move."""

from sqlalchemy import func, select

from db.models import AuditEvent, Customer, User, Visit
from tests import factories as make
from tests.support import csrf_token, html, texts


async def owners(db) -> dict[int, int | None]:
    return dict((await db.execute(select(Customer.id, Customer.owner_id))).all())


async def post(client, path: str, data: dict, token_from: str):
    token = await csrf_token(client, token_from)
    return await client.post(path, data={"_csrf_token": token, **data}, follow_redirects=False)


async def _leaving(db, signed_in, n: int = 5):
    team = await make.team(db)
    await signed_in("admin", locale="en")
    leaver = await make.user(db, team=team, name="陈静")
    a = await make.user(db, team=team, name="王芳")
    b = await make.user(db, team=team, name="张伟")
    cs = [await make.customer(db, owner=leaver, commit=False) for _ in range(n)]
    await db.commit()
    return leaver.id, a.id, b.id, [c.id for c in cs]


async def test_deactivating_an_owner_asks_where_the_customers_go(client, db, signed_in):
    leaver, _a, _b, _ = await _leaving(db, signed_in)
    response = await post(client, f"/admin/users/{leaver}/deactivate", {}, "/admin/users")
    assert response.status_code == 303
    assert response.headers["location"] == f"/pool/handover/{leaver}"
    assert (await db.execute(select(User.active).where(User.id == leaver))).scalar_one()
    tree = html(await client.get(f"/pool/handover/{leaver}"))
    assert "Customers owned by 陈静: 5" in tree.css_first("#handover-heading").text()
    assert tree.css_first("#handover-preview") is None


async def test_spread_evenly_preview_then_confirm_in_one_go(client, db, signed_in):
    leaver, a, b, cs = await _leaving(db, signed_in)
    await make.visit(db, customer=await db.get(Customer, cs[0]), user=await db.get(User, leaver))
    tree = html(await client.get(f"/pool/handover/{leaver}?mode=spread&spread={a}&spread={b}"))
    preview = tree.css_first("#handover-preview")
    assert [[td.text() for td in tr.css("td")] for tr in preview.css("tbody tr")] == [
        ["王芳", "3"],
        ["张伟", "2"],
    ]
    response = await post(
        client,
        f"/pool/handover/{leaver}",
        {"mode": "spread", "spread": [str(a), str(b)]},
        f"/pool/handover/{leaver}?mode=pool",
    )
    assert response.status_code == 303
    got = await owners(db)
    assert sorted(got[c] for c in cs) == sorted([a, a, a, b, b])
    assert not (await db.execute(select(User.active).where(User.id == leaver))).scalar_one()
    # Visits keep their author; every move is audited.
    author = (
        await db.execute(select(Visit.user_id).where(Visit.customer_id == cs[0]))
    ).scalar_one()
    assert author == leaver
    audited = await db.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "pool_assign")
    )
    assert audited.scalar_one() == 5


async def test_back_to_the_pool(client, db, signed_in):
    leaver, _a, _b, cs = await _leaving(db, signed_in, n=2)
    response = await post(client, f"/pool/handover/{leaver}", {"mode": "pool"}, "/admin/users")
    assert response.status_code == 303
    got = await owners(db)
    assert [got[c] for c in cs] == [None, None]


async def test_a_handover_without_a_colleague_is_refused_beside_the_field(client, db, signed_in):
    leaver, *_ = await _leaving(db, signed_in, n=1)
    response = await post(client, f"/pool/handover/{leaver}", {"mode": "one"}, "/admin/users")
    assert response.status_code == 422
    assert html(response).css_first("#ho-to-error") is not None
    assert (await db.execute(select(User.active).where(User.id == leaver))).scalar_one()


async def test_a_manager_reassigns_the_filtered_list(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en", name="李伟")
    rep = await make.user(db, team=team, name="陈静")
    other = await make.user(db, team=team, name="王芳")
    a_level = [await make.customer(db, owner=rep, level="A", commit=False) for _ in range(3)]
    b_level = await make.customer(db, owner=rep, level="B")
    tree = html(await client.get(f"/customers?owner={rep.id}&level=A"))
    link = tree.css_first("#pool-reassign-link").attributes["href"]
    assert link == f"/pool/reassign?owner={rep.id}&level=A"
    tree = html(await client.get(link))
    assert tree.css_first("#reassign-count").text(strip=True) == "3 customers will be reassigned."
    assert "王芳" in texts(tree, "#ra-to option")
    response = await post(
        client, "/pool/reassign", {"owner": str(rep.id), "level": "A", "to": str(other.id)}, link
    )
    assert response.status_code == 303
    got = await owners(db)
    assert [got[c.id] for c in a_level] == [other.id] * 3 and got[b_level.id] == rep.id


async def test_reassign_needs_a_valid_new_owner(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en")
    far = await make.user(db, team=await make.team(db, "华南销售组"), name="远方")
    await make.customer(db, team=team)
    response = await post(client, "/pool/reassign", {"to": str(far.id)}, "/pool/reassign")
    assert response.status_code == 422
    assert html(response).css_first("#ra-to-error") is not None


async def test_a_rep_may_not_reassign(client, db, signed_in):
    await signed_in("rep")
    assert (await client.get("/pool/reassign")).status_code == 403
