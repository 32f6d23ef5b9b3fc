"""Inputs that used to answer 500 (issue 19, point 4): each now gets a clear 4xx message."""

import pytest

from domain.report import parse_iso_week
from tests import factories as make
from tests.support import csrf_token, html, sign_in

EN = {"Accept-Language": "en"}
BAD_TEXT = "contains characters that cannot be used here"
BIG = str(2**63)


@pytest.fixture
async def admin(client, db):
    """A signed-in admin (English UI) with one team and one customer."""
    team = await make.team(db)
    user = await make.user(db, name="Admin", role="admin", locale="en")
    await make.customer(db, team=team, name="上海华东机械有限公司")
    await sign_in(client, db, user)
    return user


@pytest.fixture
async def clerk(client, db):
    """A signed-in store clerk (English UI)."""
    store = await make.team(db, "南京路门店", store=True)
    user = await make.user(db, name="Clerk", role="clerk", team=store, locale="en")
    await sign_in(client, db, user)
    return user


def message(response) -> str:
    """The explanation the error page (or banner) shows."""
    return html(response).body.text(separator=" ", strip=True)


@pytest.mark.parametrize("url", ["/customers?q=ab%00", "/counter?q=ab%00"])
async def test_nul_in_customer_search_is_a_400_with_a_message(client, admin, url):
    response = await client.get(url, headers=EN)
    assert response.status_code == 400
    assert BAD_TEXT in message(response)


async def test_nul_in_counter_lookup_is_a_400_with_a_message(client, clerk):
    response = await client.get("/counter?q=1380%00", headers={**EN, "HX-Request": "true"})
    assert response.status_code == 400
    assert BAD_TEXT in message(response)
    assert response.headers["hx-retarget"] == "#error-banner"


async def test_invalid_utf8_in_a_query_is_a_400(client, admin):
    response = await client.get("/customers?q=%FF%FE", headers=EN)
    assert response.status_code == 400
    assert BAD_TEXT in message(response)


async def test_outcome_form_with_a_missing_field_answers_422_beside_the_field(client, admin):
    token = await csrf_token(client, "/admin/outcomes")
    response = await client.post(
        "/admin/outcomes",
        data={"_csrf_token": token, "code": "site_survey", "label_en": "Site survey"},
        headers=EN,
    )
    assert response.status_code == 422
    tree = html(response)
    field = tree.css_first("#o-new-label_zh")
    assert field.attributes.get("aria-invalid") == "true"
    assert tree.css_first("#o-new-label_zh-error") is not None
    assert tree.css_first("#o-new-label_en").attributes["value"] == "Site survey"


async def test_outcome_update_with_no_fields_answers_422(client, admin):
    token = await csrf_token(client, "/admin/outcomes")
    response = await client.post("/admin/outcomes/called", data={"_csrf_token": token}, headers=EN)
    assert response.status_code == 422
    assert html(response).css_first("#o-called-label_en-error") is not None


async def test_invalid_utf8_in_a_multipart_body_is_a_400(client, admin):
    token = await csrf_token(client, "/admin/users")
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xff\xfe\r\n--XX--\r\n'
    )
    response = await client.post(
        "/admin/users",
        content=body,
        headers={**EN, "content-type": "multipart/form-data; boundary=XX"},
    )
    assert response.status_code == 400
    assert BAD_TEXT in message(response)


async def test_invalid_utf8_and_nul_in_a_urlencoded_body_are_400(client, admin):
    token = await csrf_token(client, "/admin/users")
    for value in (b"%FF%FE", b"Li%00Lei"):
        response = await client.post(
            "/admin/users",
            content=b"_csrf_token=" + token.encode() + b"&role=rep&new_team=x&name=" + value,
            headers={**EN, "content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400, value
        assert BAD_TEXT in message(response)


@pytest.mark.parametrize(
    "url",
    [
        f"/customers/{BIG}",
        f"/customers/{BIG}/visits",
        f"/visits/{2**70}",
        f"/admin/users/{BIG}/link",
        f"/admin/custom-fields/{BIG}/edit",
    ],
)
async def test_ids_beyond_64_bits_are_404(client, admin, url):
    response = await client.get(url, headers=EN)
    assert response.status_code == 404
    assert "This page does not exist" in message(response)


async def test_page_number_beyond_64_bits_is_a_400_and_a_huge_page_is_empty(client, admin):
    response = await client.get(f"/customers?page={BIG}", headers=EN)
    assert response.status_code == 400
    assert "too large" in message(response)
    response = await client.get(f"/customers?page={2**62}", headers=EN)
    assert response.status_code == 200
    assert "上海华东机械有限公司" not in response.text


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01"])
@pytest.mark.parametrize("page", ["/team", "/reports/weekly", "/reports/weekly/pdf"])
async def test_weeks_out_of_range_are_a_400_with_a_message(client, admin, page, week):
    response = await client.get(f"{page}?week={week}", headers=EN)
    assert response.status_code == 400
    assert "Choose a week like 2026-W47." in message(response)


def test_parse_iso_week_refuses_years_its_neighbours_cannot_reach():
    for text in ("9999-W52", "0001-W01", "1899-W52", "3000-W01"):
        with pytest.raises(ValueError):
            parse_iso_week(text)
    assert parse_iso_week("1900-W01") == (1900, 1)
    assert parse_iso_week("2999-W52") == (2999, 52)


async def test_refusal_is_in_the_users_language_with_the_usual_headers(client, db):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team, locale="zh_CN")
    await sign_in(client, db, rep)
    response = await client.get("/customers?q=%00")
    assert response.status_code == 400
    assert "无效的 UTF-8" in message(response)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "HX-Request" in response.headers["vary"]
