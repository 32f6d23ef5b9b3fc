"""Row-level visibility on every customer URL: rep, clerk, manager, admin; guessed ids are 404."""

import pytest

from db.customers import contact_add
from db.models import Contact, Customer
from domain.contacts import validate_contact
from tests import factories as make
from tests.support import csrf_token, html

# Who sees which customer (PRODUCT.md §1).
SEES = {
    "rep_a": {"own_a", "pool"},
    "rep_b": {"own_b", "pool"},
    "manager": {"own_a", "own_b", "pool"},
    "clerk": {"store"},
    "admin": {"own_a", "own_b", "pool", "store", "north"},
    "outsider": {"north"},
}


@pytest.fixture
async def world(db):
    """Two field teams, a store, everyone's customers (each with a contact)."""
    team = await make.team(db, "华东销售一组")
    north = await make.team(db, "华北销售组")
    store = await make.team(db, "南京西路门店", store=True)
    users = {
        "rep_a": await make.user(db, name="陈静", role="rep", team=team),
        "rep_b": await make.user(db, name="刘洋", role="rep", team=team),
        "manager": await make.user(db, name="李伟", role="manager", team=team),
        "clerk": await make.user(db, name="吴婷", role="clerk", team=store),
        "admin": await make.user(db, name="王芳", role="admin"),
        "outsider": await make.user(db, name="黄丽", role="rep", team=north),
    }
    specs = {
        "own_a": ("陈静的客户", "13800000001", team, users["rep_a"]),
        "own_b": ("刘洋的客户", "13800000002", team, users["rep_b"]),
        "pool": ("公海客户", "13800000003", team, None),
        "store": ("门店客户", "13800000004", store, None),
        "north": ("华北客户", "13800000005", north, users["outsider"]),
    }
    customers, contacts = {}, {}
    for key, (name, phone, t, owner) in specs.items():
        c = await make.customer(db, via_form=True, name=name, phone=phone, team=t, owner=owner)
        data, _ = validate_contact({"name": f"{name}联系人", "role": "user"})
        contacts[key] = await contact_add(db, customer_id=c.id, data=data, user_id=None)
        customers[key] = c
    await db.commit()
    return {"users": users, "customers": customers, "contacts": contacts}


@pytest.mark.parametrize("who", list(SEES))
async def test_visibility_matrix(client, db, signed_in, world, who):
    user = world["users"][who]
    await signed_in(user)
    token = await csrf_token(client, "/customers/new")
    visible = SEES[who]

    # The list and the search show exactly the visible customers.
    tree = html(await client.get("/customers"))
    listed = {a.text(strip=True) for a in tree.css("#customer-list .customer-row > a")}
    names = {k: c.name for k, c in world["customers"].items()}
    assert listed == {names[k] for k in visible}
    found = html(await client.get("/customers?q=客户", headers={"HX-Request": "true"}))
    assert {a.text(strip=True) for a in found.css(".result > a")} == {names[k] for k in visible}
    found = html(await client.get("/customers?q=1380000", headers={"HX-Request": "true"}))
    assert {a.text(strip=True) for a in found.css(".result > a")} == {names[k] for k in visible}

    for key, customer in world["customers"].items():
        base = f"/customers/{customer.id}"
        contact = world["contacts"][key]
        expected = 200 if key in visible else 404
        assert (await client.get(base)).status_code == expected, (who, key, "detail")
        assert (await client.get(base + "/edit")).status_code == expected, (who, key, "edit")
        partial = await client.get(base + "/contacts", headers={"HX-Request": "true"})
        assert partial.status_code == expected, (who, key, "contacts partial")
        edit_contact = await client.get(f"{base}/contacts/{contact.id}/edit")
        assert edit_contact.status_code == expected, (who, key, "contact edit")
        if key in visible:
            continue
        # Writes to a customer one may not see are 404 too, and change nothing.
        for path, data in [
            (base + "/edit", {"name": "改名", "phone": "13900000000", "level": "A"}),
            (base + "/contacts", {"name": "新人", "role": "user"}),
            (f"{base}/contacts/{contact.id}/edit", {"name": "新人", "role": "user"}),
            (f"{base}/contacts/{contact.id}/delete", {}),
        ]:
            response = await client.post(path, data={"_csrf_token": token, **data})
            assert response.status_code == 404, (who, key, path)
            assert "改名" not in response.text
        stored = await db.get(Customer, customer.id, populate_existing=True)
        assert (stored.name, stored.level) == (names[key], "B"), (who, key)
        kept = await db.get(Contact, contact.id, populate_existing=True)
        assert kept is not None and kept.name == f"{names[key]}联系人", (who, key)


async def test_guessed_ids_are_not_found(client, db, signed_in, world):
    await signed_in(world["users"]["admin"])
    assert (await client.get("/customers/999999")).status_code == 404
    assert (await client.get("/customers/999999/edit")).status_code == 404
    response = await client.get("/customers/999999", headers={"HX-Request": "true"})
    assert response.status_code == 404 and response.headers["hx-retarget"] == "#error-banner"


async def test_contacts_partial_is_a_fragment_for_htmx_and_a_redirect_otherwise(
    client, db, signed_in, world
):
    await signed_in(world["users"]["rep_a"])
    c = world["customers"]["own_a"]
    response = await client.get(f"/customers/{c.id}/contacts", headers={"HX-Request": "true"})
    assert "<html" not in response.text
    assert (
        html(response).css_first("#contact-list .contact-name").text(strip=True)
        == "陈静的客户联系人"
    )
    response = await client.get(f"/customers/{c.id}/contacts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{c.id}#contacts"


async def test_signed_out_visitors_are_sent_to_sign_in(client, db, world):
    c = world["customers"]["own_a"]
    response = await client.get(f"/customers/{c.id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
