"""Daily use (issue 20): feedback naming fields, quick add's rule, the counter loop's page,
and the small things (brand, expired sign-in, phone of a digits hit, copy link, dates, ：)."""

from datetime import date

from db.models import CustomFieldDefinition
from tests import factories as make
from tests.support import csrf_token, html, texts
from web.core.locale import LANG_COOKIE
from web.core.sessions import COOKIE

HX = {"HX-Request": "true"}


async def _required_field(db) -> None:
    db.add(
        CustomFieldDefinition(
            key="member_card", label_en="Member card", label_zh="会员卡号", required=True
        )
    )
    await db.commit()


async def test_a_required_field_that_blocks_a_save_is_named_linked_and_focused(
    client, db, signed_in
):
    await _required_field(db)
    await signed_in("rep", locale="en")
    token = await csrf_token(client, "/customers/new")
    data = {"_csrf_token": token, "name": "Named Ltd", "phone": "13912340000",
            "level": "B", "source": "referral"}  # fmt: skip
    response = await client.post("/customers", data=data)
    assert response.status_code == 422
    tree = html(response)
    field = tree.css_first("[name=custom_member_card]")
    assert field.attributes.get("aria-invalid") == "true" and "autofocus" in field.attributes
    message = tree.css_first("#" + field.attributes["aria-describedby"]).text(strip=True)
    assert message == "Fill in Member card."
    summary = tree.css_first(".error-summary a")
    assert summary.attributes["href"] == "#" + field.attributes["id"]
    assert summary.text(strip=True) == "Member card: Fill in Member card."
    assert len(tree.css("[autofocus]")) == 1  # the browser focuses the first invalid field


async def test_a_bad_phone_names_the_phone_in_the_summary_in_chinese(client, db, signed_in):
    await signed_in("rep")
    token = await csrf_token(client, "/customers/new")
    data = {"_csrf_token": token, "name": "华东", "phone": "12345", "level": "B",
            "source": "referral"}  # fmt: skip
    response = await client.post("/customers", data=data, headers=HX)
    assert response.status_code == 422
    tree = html(response)
    assert texts(tree, ".error-summary a")[0].startswith("电话：")
    assert "autofocus" in tree.css_first("#f-phone").attributes


async def test_quick_add_at_the_counter_follows_the_full_forms_required_rule(client, db, signed_in):
    await _required_field(db)
    store = await make.team(db, "南京西路门店", store=True)
    await signed_in("clerk", team=store, locale="en")
    form = html(await client.get("/counter/new"))
    assert form.css_first("#quick-custom_member_card") is not None
    token = await csrf_token(client, "/counter/new")
    data = {"_csrf_token": token, "name": "Walk-in Wang", "phone": "13700001111"}
    response = await client.post("/counter/customers", data=data)
    assert response.status_code == 422
    tree = html(response)
    field = tree.css_first("#quick-custom_member_card")
    assert field.attributes.get("aria-invalid") == "true" and "autofocus" in field.attributes
    assert tree.css_first("#quick-custom_member_card-error").text(strip=True) == (
        "Fill in Member card."
    )
    assert tree.css_first("#quick-name").attributes["value"] == "Walk-in Wang"
    response = await client.post(
        "/counter/customers",
        data={**data, "custom_member_card": "VIP-42"},
        follow_redirects=False,
    )
    assert response.status_code == 303


async def test_the_counter_customer_page_keeps_the_lookup_and_marks_the_keyboard_loop(
    client, db, signed_in
):
    store = await make.team(db, "南京西路门店", store=True)
    clerk = await signed_in("clerk", team=store)
    customer = await make.customer(db, team=store, owner=clerk, name="林小姐")
    tree = html(await client.get(f"/counter/customers/{customer.id}"))
    lookup = tree.css_first("#counter-lookup #counter-q")
    assert lookup is not None and "autofocus" not in lookup.attributes
    assert tree.css_first("[data-counter-customer] [data-visit-open]") is not None
    assert tree.css_first("#counter-results") is not None
    card = tree.css_first("#counter-card").text()
    assert "会员价值：" in card  # full-width colon in Chinese
    scripts = [s.attributes.get("src", "") for s in tree.css("script")]
    assert any("counter" in s for s in scripts)


async def test_the_brand_says_kehu_客户_and_leads_each_role_home(client, db, signed_in):
    store = await make.team(db, "南京西路门店", store=True)
    await signed_in("clerk", team=store)
    tree = html(await client.get("/customers"))
    brand = tree.css_first("a.brand")
    assert brand.text(separator=" ", strip=True) == "Kehu 客户"
    assert brand.attributes["href"] == "/counter"
    assert texts(tree, "nav.tabs a").count("客户") == 1
    await signed_in("rep")
    assert html(await client.get("/customers")).css_first("a.brand").attributes["href"] == "/"


async def test_an_expired_sign_in_says_so_and_offers_to_sign_in_again(client, db, signed_in):
    await signed_in("rep", locale="en")
    token = await csrf_token(client, "/customers/new")
    client.cookies.delete(COOKIE)  # the sign-in cookie ran out while the form was open
    client.cookies.set(LANG_COOKIE, "en")
    await db.commit()
    referer = {"Referer": "http://localhost:8000/customers/new"}
    response = await client.post(
        "/customers", data={"_csrf_token": token, "name": "x"}, headers=referer
    )
    assert response.status_code == 403
    tree = html(response)
    assert tree.css_first("h1").text(strip=True) == "Sign-in expired"
    assert "Not allowed" not in tree.text()
    again = tree.css_first("main a.button")
    assert again.text(strip=True) == "Sign in again"
    assert again.attributes["href"] == "/login?next=/customers/new"
    banner = await client.post("/customers", data={"_csrf_token": token}, headers={**HX, **referer})
    assert banner.status_code == 403
    assert "Sign-in expired" in banner.text and "/login?next=/customers/new" in banner.text


async def test_a_digits_search_shows_the_phone_each_hit_matched(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", team=team, locale="en")
    await make.customer(db, team=team, owner=rep, name="Four Digits", phone="13912348888")
    tree = html(await client.get("/customers?q=8888", headers=HX))
    assert "13912348888" in tree.css_first(".result-phone").text()
    tree = html(await client.get("/customers?q=Four", headers=HX))
    assert tree.css_first(".result-phone") is None


async def test_the_enrolment_link_page_offers_copy_and_share(client, db, signed_in):
    await signed_in("admin", locale="en")
    team = await make.team(db)
    token = await csrf_token(client, "/admin/users")
    response = await client.post(
        "/admin/users", data={"_csrf_token": token, "name": "New Rep", "role": "rep",
                              "team_id": str(team.id)},
    )  # fmt: skip
    tree = html(response)
    copy = tree.css_first("[data-copy-link]")
    assert copy.text(strip=True) == "Copy link" and copy.attributes["data-copy-link"] == "enrol-url"
    assert tree.css_first("[data-share-link]").text(strip=True) == "Share…"
    assert tree.css_first("#enrol-url").attributes["value"].startswith("http")


async def test_one_date_format_per_language(client, db, signed_in, settings):
    from web.core import i18n

    i18n.set_locale("en", settings.tz)
    assert {i18n.fmt_date(date(2026, 12, 1), f) for f in ("short", "medium", "full")} == {
        "Dec 1, 2026"
    }
    i18n.set_locale("zh_CN", settings.tz)
    assert i18n.fmt_date(date(2026, 12, 1), "short") == "2026年12月1日"


async def test_an_outcome_admin_error_far_down_the_page_is_the_one_focused(client, db, signed_in):
    await signed_in("admin", locale="en")
    token = await csrf_token(client, "/admin/outcomes")
    response = await client.post(
        "/admin/outcomes/called",
        data={"_csrf_token": token, "label_en": "", "label_zh": "电话", "method": "phone",
              "position": "1"},
    )  # fmt: skip
    assert response.status_code == 422
    tree = html(response)
    focused = tree.css("[autofocus]")
    # Without JavaScript the browser focuses (and scrolls to) the first autofocus element.
    assert focused[0].attributes["id"] == "o-called-label_en"
    assert focused[0].attributes.get("aria-invalid") == "true"
