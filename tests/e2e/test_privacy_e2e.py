"""A deletion request in a real browser at 1280×800: register, find, copy, erase, gone."""

import sqlite3
import uuid

import pytest

from domain.customers import derived_fields
from tests.e2e.conftest import SHOTS, no_horizontal_overflow, shot, signed_in_context

pytestmark = pytest.mark.e2e

NAME = "欧阳明珠"
PHONE = "13912348888"


def _add_customer(server, team: str) -> int:
    """Insert one customer straight into the server's database."""
    con = sqlite3.connect(server.workdir / "e2e.db")
    d = derived_fields(NAME, PHONE)
    with con:
        team_id = con.execute("select id from team where name = ?", (team,)).fetchone()[0]
        cur = con.execute(
            "insert into customer (number, name, name_key, name_pinyin, name_initials, kind,"
            " phone, phone_last4, team_id, level, source, contact_name, email, industry, needs,"
            " address, status, stage, custom, tags, created_at, updated_at, version, data_basis)"
            " values (?, ?, ?, ?, ?, 'person', ?, ?, ?, 'B', 'other', '', '', '', '喜欢绿茶', '',"
            " 'potential', 'lead', '{}', '[]', datetime('now'), datetime('now'), 1, 'consent')",
            (f"C{uuid.uuid4().int % 10**9:09d}", NAME, d["name_key"], d["name_pinyin"],
             d["name_initials"], PHONE, d["phone_last4"], team_id),
        )  # fmt: skip
    con.close()
    return cur.lastrowid


def test_deletion_request_by_phone_at_the_desk(browser, server):
    server.kehu("user", "add", "陈静", "--role", "rep", "--team", "华东一组")
    _add_customer(server, "华东一组")
    ctx = signed_in_context(
        browser, server, name="王芳", role="admin", size="counter", locale="en-US"
    )
    page = ctx.new_page()
    page.goto(server.origin + f"/customers?q={NAME}")
    assert page.get_by_role("link", name=NAME).count() >= 1

    page.goto(server.origin + "/settings")
    page.get_by_role("link", name="Privacy requests").click()
    page.get_by_label("Who asked").fill(f"{NAME}本人")
    page.get_by_label("Request", exact=True).select_option("deletion")
    page.get_by_label("Phone or name of the person").fill("+86 139-1234-8888")
    page.get_by_role("button", name="Register request").click()
    page.wait_for_url("**/admin/privacy/*")
    match = page.locator(".privacy-matches li").first
    match.get_by_text(NAME).first.wait_for()
    assert "Consent" in match.inner_text()
    assert no_horizontal_overflow(page)
    shot(page, "privacy-1280-request")

    with page.expect_download() as download:
        match.get_by_role("link", name="Download copy (PDF)").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SHOTS / "privacy-copy.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    match.get_by_role("link", name="Erase", exact=True).click()
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Erase permanently").click()
    page.wait_for_url("**/admin/privacy/*")
    page.get_by_text("Erased.").first.wait_for()

    page.goto(server.origin + f"/customers?q={NAME}")
    assert page.get_by_role("link", name=NAME).count() == 0
    page.goto(server.origin + f"/customers?q={PHONE}")
    assert page.get_by_role("link", name=NAME).count() == 0

    page.goto(server.origin + "/admin/audit?action=customer_erased")
    page.locator("#privacy-audit-table tbody tr").first.wait_for()
    assert page.locator("#privacy-audit-table tbody tr").count() == 1
    page.goto(server.origin + "/admin/audit")
    shot(page, "privacy-1280-audit-log")
    ctx.close()
