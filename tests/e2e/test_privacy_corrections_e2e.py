"""Privacy at the counter and on a phone: the corrections list by label, Today's overdue block."""

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.e2e.conftest import shot, signed_in_context

pytestmark = pytest.mark.e2e

TEAM = "华东销售三组"


def _seed(server, officer: str) -> int:
    """An overdue deletion request with one correction made for it; the request id."""
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        uid = con.execute("select id from user where name = ?", (officer,)).fetchone()[0]
        con.execute("update user set may_handle_privacy = 1 where id = ?", (uid,))
        received = date.today() - timedelta(days=40)
        rid = con.execute(
            "insert into privacy_request (requester, contact, channel, kind, subject,"
            " received_on, due_on, status, reason, created_by, created_at)"
            " values ('逾期的张先生', '', 'phone', 'correction', '13912345678', ?, ?, 'open',"
            " '', ?, ?)",
            (received.isoformat(), (received + timedelta(days=15)).isoformat(), uid,
             datetime.now(UTC).isoformat(sep=" ")),
        ).lastrowid  # fmt: skip
        con.execute(
            "insert into audit_event (at, actor_id, action, entity, entity_id, detail, ip)"
            " values (?, ?, 'customer_updated', 'customer', NULL, ?, '')",
            (datetime.now(UTC).isoformat(sep=" "), uid,
             json.dumps({"fields": ["phone", "contact_name"], "privacy_request_id": rid})),
        )  # fmt: skip
    con.close()
    return rid


def test_a_privacy_officer_sees_overdue_requests_and_corrections_by_label(browser, server):
    ctx = signed_in_context(browser, server, name="周经理", role="manager", team=TEAM)
    rid = _seed(server, "周经理")
    page = ctx.new_page()
    page.goto(server.origin + "/")
    block = page.locator("#privacy-overdue")
    block.get_by_text("逾期的张先生").wait_for()
    shot(page, "privacy-today-officer-phone")
    ctx.close()

    ctx = signed_in_context(
        browser, server, name="周经理", role="manager", team=TEAM, size="counter"
    )
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:  # the context's user is a new 周经理: give them the permission too
        con.execute("update user set may_handle_privacy = 1 where name = '周经理'")
    con.close()
    page = ctx.new_page()
    page.goto(f"{server.origin}/admin/privacy/{rid}")
    corrections = page.locator(".privacy-corrections").inner_text()
    assert "电话" in corrections and "主要联系人" in corrections
    assert "contact_name" not in corrections
    shot(page, "privacy-request-corrections-counter")
    ctx.close()
