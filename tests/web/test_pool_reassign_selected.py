"""A manager's Reassign of the rows ticked on the customer list: count first, then only those."""

from urllib.parse import urlencode

from sqlalchemy import select

from db.models import Customer
from tests import factories as make
from tests.support import csrf_token, html


async def owners(db) -> dict[int, int | None]:
    return dict((await db.execute(select(Customer.id, Customer.owner_id))).all())


async def post(client, path: str, data: dict, token_from: str):
    token = await csrf_token(client, token_from)
    return await client.post(path, data={"_csrf_token": token, **data}, follow_redirects=False)


async def test_the_list_has_a_checkbox_per_row_in_a_form_to_the_preview(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", team=team, locale="en")
    rep = await make.user(db, team=team, name="陈静")
    cs = [await make.customer(db, owner=rep, commit=False) for _ in range(2)]
    await db.commit()
    tree = html(await client.get("/customers"))
    form = tree.css_first("#pool-select-form")
    assert form.attributes["action"] == "/pool/reassign"
    assert form.attributes["method"] == "get"
    assert form.css_first("button").text(strip=True) == "Reassign selected"
    boxes = tree.css("#customer-list input[type=checkbox][name=ids]")
    assert sorted(b.attributes["value"] for b in boxes) == sorted(str(c.id) for c in cs)
    assert all(b.attributes["form"] == "pool-select-form" for b in boxes)
    # The HTMX fragment of the list carries the same checkboxes.
    fragment = html(await client.get("/customers", headers={"HX-Request": "true"}))
    assert len(fragment.css("input[type=checkbox][name=ids]")) == 2


async def test_a_rep_sees_no_checkboxes(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", team=team, locale="en")
    await make.customer(db, owner=rep)
    tree = html(await client.get("/customers"))
    assert tree.css_first("#pool-select-form") is None
    assert not tree.css("input[type=checkbox][name=ids]")


async def test_reassign_selected_without_javascript_moves_only_the_ticked(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", team=team, locale="en", name="李伟")
    rep = await make.user(db, team=team, name="陈静")
    other = await make.user(db, team=team, name="王芳")
    cs = [await make.customer(db, owner=rep, commit=False) for _ in range(4)]
    await db.commit()
    ticked = [cs[0].id, cs[2].id]
    preview_url = "/pool/reassign?" + urlencode([("ids", i) for i in ticked])
    tree = html(await client.get(preview_url))
    assert tree.css_first("#reassign-count").text(strip=True) == "2 customers will be reassigned."
    assert tree.css_first("#reassign-ignored") is None
    hidden = tree.css("#pool-reassign-form input[type=hidden][name=ids]")
    assert sorted(int(h.attributes["value"]) for h in hidden) == sorted(ticked)
    response = await post(
        client, "/pool/reassign", {"ids": [str(i) for i in ticked], "to": str(other.id)}, "/"
    )
    assert response.status_code == 303
    got = await owners(db)
    assert [got[c.id] for c in cs] == [other.id, rep.id, other.id, rep.id]
    page = html(await client.get(response.headers["location"])).text()
    assert "2 customers reassigned." in page


async def test_another_teams_ids_are_ignored_and_counted(client, db, signed_in):
    team = await make.team(db)
    far_team = await make.team(db, "华南销售组")
    await signed_in("manager", team=team, locale="en", name="李伟")
    rep = await make.user(db, team=team, name="陈静")
    other = await make.user(db, team=team, name="王芳")
    far_rep = await make.user(db, team=far_team, name="远方")
    mine = await make.customer(db, owner=rep)
    theirs = [await make.customer(db, owner=far_rep, commit=False) for _ in range(2)]
    await db.commit()
    ids = [mine.id, *(c.id for c in theirs)]
    tree = html(await client.get("/pool/reassign?" + urlencode([("ids", i) for i in ids])))
    assert tree.css_first("#reassign-count").text(strip=True) == "1 customer will be reassigned."
    assert tree.css_first("#reassign-ignored").text(strip=True) == (
        "2 selected customers are not yours to move and are left out."
    )
    response = await post(
        client, "/pool/reassign", {"ids": [str(i) for i in ids], "to": str(other.id)}, "/"
    )
    assert response.status_code == 303
    got = await owners(db)
    assert got[mine.id] == other.id
    assert [got[c.id] for c in theirs] == [far_rep.id, far_rep.id]
    page = html(await client.get(response.headers["location"])).text()
    assert "1 customers reassigned." in page and "2 selected customers were left out." in page


async def test_ticked_ids_that_are_not_ids_move_nothing(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", team=team, locale="en")
    rep = await make.user(db, team=team, name="陈静")
    c = await make.customer(db, owner=rep)
    response = await post(client, "/pool/reassign", {"ids": ["abc", "-1"], "to": "pool"}, "/")
    assert response.status_code == 303
    assert (await owners(db))[c.id] == rep.id


async def test_reassign_selected_with_nothing_ticked_moves_nothing(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", team=team, locale="en")
    rep = await make.user(db, team=team, name="陈静")
    c = await make.customer(db, owner=rep)
    tree = html(await client.get("/pool/reassign?selected=1"))
    assert tree.css_first("#reassign-count").text(strip=True) == "0 customers will be reassigned."
    assert "disabled" in tree.css_first("#pool-reassign-form button[type=submit]").attributes
    response = await post(client, "/pool/reassign", {"selected": "1", "to": "pool"}, "/")
    assert response.status_code == 303
    assert (await owners(db))[c.id] == rep.id
