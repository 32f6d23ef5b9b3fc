"""Offline and weak network on a real phone browser: the outbox, the service worker, the
in-flight state of a tap, and a customer page's load time on a throttled network."""

import contextlib
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, shot, signed_in_context
from tests.e2e.test_visits_e2e import add_customer, visit_rows

pytestmark = pytest.mark.e2e

REP = "陈静"  # the names add_customer() files customers under
TEAM = "华东销售一组"
OTHER = "李雷"
WAITING = "待发送"


@pytest.fixture(scope="module")
def rep(browser, server):
    """A signed-in rep on a phone (zh-CN), with a location; another rep of the team exists."""
    ctx = signed_in_context(browser, server, name=REP, role="rep", team=TEAM, size="phone")
    ctx.grant_permissions(["geolocation"], origin=server.origin)
    ctx.set_geolocation({"latitude": 31.2333, "longitude": 121.4737, "accuracy": 20})
    server.kehu("user", "add", OTHER, "--role", "rep", "--team", TEAM)
    yield ctx
    ctx.close()


@pytest.fixture(autouse=True)
def back_online(server, rep):
    """Whatever a test did, the next one starts online, unrouted, with the server up."""
    yield
    rep.set_offline(False)
    rep.unroute_all(behavior="ignoreErrors")
    if server.proc.poll() is not None:
        restart(server)


def wait_for(check, timeout: float = 15.0, every: float = 0.2, page=None):
    """Poll `check` until it returns something truthy; fail after `timeout` seconds.

    With a page, the pause lets Playwright run (route handlers are called only then).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if page is not None:
            page.wait_for_timeout(every * 1000)
        else:
            time.sleep(every)
    raise AssertionError(f"gave up waiting after {timeout} s")


def saved_offline(page, path: str) -> None:
    """Open a page online, under the service worker, until its offline copy is kept."""
    page.evaluate("() => navigator.serviceWorker.ready")
    url = f"{origin(page)}{path}"
    kept = """async (path) => {
        for (const name of await caches.keys()) {
            if (name.startsWith('kehu-pages-') && await (await caches.open(name)).match(path)) {
                return true;
            }
        }
        return false;
    }"""

    def visit() -> bool:
        page.goto(url)  # under the worker now (it claimed the page when it activated)
        return page.evaluate(kept, path)

    wait_for(visit, timeout=20, every=0.5)


def origin(page) -> str:
    """The server's origin as the page knows it."""
    return page.evaluate("() => location.origin")


def record_offline(page, outcome: str) -> None:
    """The two taps of a visit: Record visit, then the outcome."""
    page.get_by_role("button", name="记录拜访").click()
    page.get_by_role("button", name=outcome, exact=True).click()


def badge_count(page) -> str:
    """What the header badge says is waiting ('' when hidden)."""
    badge = page.locator("#visit-outbox-badge")
    return badge.locator("[data-outbox-count]").inner_text() if badge.is_visible() else ""


def outcomes_stored(server, customer_id: int) -> list[str]:
    """The outcomes of a customer's stored visits, oldest first."""
    con = sqlite3.connect(server.workdir / "e2e.db")
    try:
        rows = con.execute(
            "select outcome from visit where customer_id = ? order by id", (customer_id,)
        )
        return [r[0] for r in rows]
    finally:
        con.close()


def restart(server) -> None:
    """Start the killed server again on the same port and database."""
    kehu = str(Path(sys.executable).parent / "kehu")
    server.proc = subprocess.Popen(
        [kehu, "serve", "--host", "127.0.0.1", "--port", str(server.port)],
        cwd=server.workdir,
        env=server.env,
        stdout=server.log,
        stderr=subprocess.STDOUT,
    )

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_for(up, timeout=30)


def test_two_visits_recorded_offline_wait_survive_a_reload_and_sync_exactly_once(server, rep):
    cid = add_customer(server, name="苏州精密模具有限公司", number="C202612501", level="A")
    page = rep.new_page()
    page.goto(f"{server.origin}/")
    saved_offline(page, f"/customers/{cid}")

    rep.set_offline(True)
    page.goto(f"{server.origin}/customers/{cid}")
    note = page.locator("[data-offline-copy]")
    assert note.is_visible() and "离线副本" in note.inner_text()

    record_offline(page, "电话沟通")
    pending = page.locator("#visit-list [data-pending-visit]")
    expect(pending).to_have_count(1)
    assert WAITING in pending.first.inner_text() and "电话沟通" in pending.first.inner_text()
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("1")
    record_offline(page, "微信/短信")
    expect(pending).to_have_count(2)
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("2")
    assert page.locator("#visit-outbox-badge").inner_text().replace("\n", " ") == "2 " + WAITING
    shot(page, "offline-customer-page")
    page.locator("#visit-outbox-badge").click()
    shot(page, "offline-waiting-badge")
    assert visit_rows(server, cid) == 0

    page.reload()  # still offline: the saved copy again, the outbox from IndexedDB
    assert page.locator("[data-offline-copy]").is_visible()
    expect(page.locator("#visit-list [data-pending-visit]")).to_have_count(2)
    assert all(WAITING in t for t in page.locator("[data-pending-visit]").all_inner_texts())
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("2")

    rep.set_offline(False)
    wait_for(lambda: visit_rows(server, cid) == 2, page=page)
    page.wait_for_function("() => document.getElementById('visit-outbox-badge').hidden")
    page.wait_for_timeout(1000)  # a second sender (timer, Background Sync) shows up here
    assert outcomes_stored(server, cid) == ["called", "message"]
    page.wait_for_function("() => !document.querySelector('[data-pending-visit]')")
    assert page.locator("#visit-list li.visit-item").count() == 2
    page.close()


def test_the_server_killed_during_the_sync_still_stores_each_visit_once(server, rep):
    cid = add_customer(server, name="无锡华光电气", number="C202612502", level="B")
    page = rep.new_page()
    page.goto(f"{server.origin}/")
    saved_offline(page, f"/customers/{cid}")
    rep.set_offline(True)
    page.goto(f"{server.origin}/customers/{cid}")
    record_offline(page, "未见到人")
    record_offline(page, "已面谈-有意向")
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("2")

    killed = []

    def die_after_storing(route):
        # The first visit reaches the server and is stored; the answer never comes back.
        route.fetch()
        server.proc.kill()
        server.proc.wait(timeout=10)
        killed.append(True)
        route.abort()

    # On the context, so a send by the service worker (Background Sync) is caught too.
    rep.route("**/visits/sync", die_after_storing)
    rep.set_offline(False)
    wait_for(lambda: killed, page=page)
    rep.unroute("**/visits/sync")
    assert visit_rows(server, cid) == 1
    # Nothing was confirmed, so both still wait.
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("2")

    restart(server)
    page.locator("#visit-outbox-badge").click()
    page.get_by_role("button", name="立即发送").click()
    wait_for(lambda: badge_count(page) == "", page=page)
    page.wait_for_timeout(1000)
    assert outcomes_stored(server, cid) == ["not_met", "met_interested"]
    page.close()


def test_a_visit_refused_by_the_server_shows_its_reason_with_retry_and_discard(server, rep):
    cid = add_customer(server, name="杭州西子贸易", number="C202612503", level="C")
    page = rep.new_page()
    page.goto(f"{server.origin}/")
    saved_offline(page, f"/customers/{cid}")
    rep.set_offline(True)
    page.goto(f"{server.origin}/customers/{cid}")
    record_offline(page, "电话沟通")
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("1")
    # Meanwhile a manager hands the customer to another rep.
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        other = con.execute("select id from user where name = ?", (OTHER,)).fetchone()[0]
        con.execute("update customer set owner_id = ? where id = ?", (other, cid))
    con.close()

    rep.set_offline(False)
    item = page.locator("#visit-list [data-pending-visit]")
    page.wait_for_function("() => !!document.querySelector('[data-pending-visit].refused')")
    assert "已不归你负责" in item.inner_text()
    assert item.get_by_role("button", name="重试").is_visible()
    assert item.get_by_role("button", name="丢弃").is_visible()
    assert badge_count(page) == "1"
    shot(page, "offline-refused-visit")
    assert visit_rows(server, cid) == 0

    item.get_by_role("button", name="丢弃").click()
    wait_for(lambda: badge_count(page) == "", page=page)
    assert page.locator("[data-pending-visit]").count() == 0
    page.close()


def test_a_delayed_visit_post_shows_the_pending_state(server, rep):
    cid = add_customer(server, name="宁波港城物流", number="C202612504", level="A")
    page = rep.new_page()
    page.goto(f"{server.origin}/customers/{cid}")
    held = []
    page.route(f"**/customers/{cid}/visits", lambda route: held.append(route))
    page.get_by_role("button", name="记录拜访").click()
    outcome = page.locator("#outcome-sheet button[value=called]")
    assert outcome.inner_text() == "电话沟通"
    outcome.click()
    wait_for(lambda: held, page=page)
    assert "is-pending" in outcome.get_attribute("class")  # pressed at once
    page.wait_for_selector("#outcome-sheet button.is-slow", timeout=2000)  # spinner by ~300 ms
    assert outcome.is_disabled()
    assert page.locator("#outcome-sheet button:not([disabled])").count() == 0
    shot(page, "visit-pending-state")
    outcome.click(force=True)  # a second tap while in flight sends nothing
    page.wait_for_timeout(300)
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector("#visit-list li.visit-item:not([data-pending-visit])")
    assert "is-pending" not in (outcome.get_attribute("class") or "")
    assert visit_rows(server, cid) == 1
    page.close()


def test_a_visit_post_that_times_out_is_kept_with_its_key_and_stored_once(server, rep):
    cid = add_customer(server, name="合肥新桥机电", number="C202612505", level="B")
    page = rep.new_page()
    page.goto(f"{server.origin}/customers/{cid}")
    page.evaluate("() => { htmx.config.timeout = 1500; }")
    held = []
    page.route(f"**/customers/{cid}/visits", lambda route: held.append(route))
    record_offline(page, "到店")
    note = page.locator("[data-outbox-note]")
    note.wait_for(timeout=5000)
    assert "已保存在本机" in note.inner_text()  # it really is kept: the outbox has it
    key = page.locator("#outcome-sheet input[name=idempotency_key]").input_value()
    assert page.locator(f"#pending-{key}").count() == 1  # the same key goes to the outbox
    page.unroute(f"**/customers/{cid}/visits")
    for route in held:
        with contextlib.suppress(Exception):  # the browser may have dropped it already
            route.abort()
    page.get_by_role("button", name="记录拜访").click()
    assert page.locator("#outcome-sheet input[name=idempotency_key]").input_value() != key
    # The outbox sends it by itself (Background Sync, or the page's timer).
    wait_for(lambda: visit_rows(server, cid) == 1, timeout=30, page=page)
    wait_for(lambda: badge_count(page) == "", page=page)
    assert visit_rows(server, cid) == 1
    page.close()


def test_a_failed_htmx_action_says_so_beside_it_and_retries(server, rep):
    cid = add_customer(server, name="南京金陵五金", number="C202612506", level="A")
    page = rep.new_page()
    page.goto(f"{server.origin}/customers/{cid}")
    record_offline(page, "电话沟通")
    edit = page.get_by_role("link", name="添加详情")
    page.route("**/visits/*/edit", lambda route: route.abort())
    edit.click()
    error = page.locator("[data-request-error]")
    error.wait_for(timeout=5000)
    assert "没有保存" in error.inner_text()
    assert page.locator("#error-banner").inner_text().strip() == ""  # said here, not twice
    page.unroute("**/visits/*/edit")
    error.get_by_role("button", name="重试").click()
    page.wait_for_selector(
        "form.visit-details, #visit-list form[method=post] textarea", timeout=5000
    )
    assert page.locator("[data-request-error]").count() == 0
    page.close()


def test_a_customer_page_that_arrives_by_a_swap_records_in_two_taps(server, rep):
    page = rep.new_page()
    page.goto(f"{server.origin}/customers/new")
    page.get_by_label("名称", exact=True).fill("常州天宁纺织")
    page.get_by_label("电话", exact=True).fill("139 1234 5688")
    page.get_by_label("客户级别").select_option("A")
    page.get_by_label("客户来源").select_option("referral")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.get_by_role("button", name="保存").click()
    page.get_by_role("region", name="拜访记录").wait_for()
    record = page.get_by_role("button", name="记录拜访")
    record.click()
    assert page.locator("#outcome-sheet").is_visible()  # opened in place, no extra page
    assert not [r for r in requests if "/visits/new" in r]
    page.get_by_role("button", name="电话沟通", exact=True).click()
    page.wait_for_selector("#visit-list li.visit-item")
    assert not [r for r in requests if "/visits/new" in r]
    page.close()


def test_an_update_of_the_worker_deletes_the_old_caches(server, rep):
    page = rep.new_page()
    page.goto(f"{server.origin}/manifest.webmanifest")  # same origin, no worker yet
    page.evaluate(
        """async () => {
            for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
            await caches.open('kehu-static-0ld');
            await caches.open('kehu-pages-0ld-u1');
        }"""
    )
    page.goto(f"{server.origin}/")
    page.evaluate("() => navigator.serviceWorker.ready")
    version = page.evaluate(
        'async () => (await (await fetch(\'/sw.js\')).text()).match(/"version": "(\\w+)"/)[1]'
    )
    names = page.wait_for_function(
        """async () => {
            const n = await caches.keys();
            return n.includes('kehu-static-0ld') ? null : n;
        }""",
        timeout=15000,
    ).json_value()
    assert "kehu-static-" + version in names
    assert not [n for n in names if "0ld" in n]
    page.close()


def test_signing_out_asks_before_discarding_unsent_visits_then_clears_them(server, browser, rep):
    ctx = signed_in_context(browser, server, name="周敏", role="rep", team=TEAM, size="phone")
    cid = add_customer(server, name="嘉兴南湖食品", number="C202612507", level="A")
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        uid = con.execute("select id from user where name = ?", ("周敏",)).fetchone()[0]
        con.execute("update customer set owner_id = ? where id = ?", (uid, cid))
    con.close()
    page = ctx.new_page()
    page.goto(f"{server.origin}/")
    saved_offline(page, f"/customers/{cid}")
    ctx.route("**/visits/sync", lambda route: route.abort())  # no sync gets through
    ctx.set_offline(True)
    page.goto(f"{server.origin}/customers/{cid}")
    record_offline(page, "电话沟通")
    expect(page.locator("#visit-outbox-badge [data-outbox-count]")).to_have_text("1")
    ctx.set_offline(False)

    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="退出登录").click()
    wait_for(lambda: asked, page=page)
    assert "1" in asked[0] and "丢弃" in asked[0]
    assert page.locator("#visit-offline").count() == 1  # still signed in, still waiting
    assert badge_count(page) == "1"

    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login**")
    left = page.evaluate(
        """async (uid) => {
            const names = (await caches.keys()).filter((n) => n.endsWith('-u' + uid));
            const db = await new Promise((ok) => {
                const r = indexedDB.open('kehu-outbox-u' + uid);
                r.onsuccess = () => ok(r.result);
            });
            const count = db.objectStoreNames.contains('visits')
                ? await new Promise((ok) => {
                    const q = db.transaction('visits').objectStore('visits').count();
                    q.onsuccess = () => ok(q.result);
                })
                : 0;
            return { caches: names, outbox: count };
        }""",
        uid,
    )
    assert left == {"caches": [], "outbox": 0}
    ctx.close()


def test_a_customer_page_loads_usably_in_under_3_s_at_400_kbps_and_400_ms(server, browser, rep):
    """Cold cache, 400 kbit/s both ways, 400 ms round trip (CDP network emulation)."""
    ctx = signed_in_context(browser, server, name="吴刚", role="rep", team=TEAM, size="phone")
    cid = add_customer(server, name="绍兴柯桥布业", number="C202612508", level="A")
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        uid = con.execute("select id from user where name = ?", ("吴刚",)).fetchone()[0]
        con.execute("update customer set owner_id = ? where id = ?", (uid, cid))
    con.close()
    # The server renders this page once first (its templates compiled), outside the browser:
    # the browser itself starts cold, with no cache and no service worker.
    cookies = {c["name"]: c["value"] for c in ctx.cookies()}
    for _ in range(2):
        answer = httpx.get(f"{server.origin}/customers/{cid}", cookies=cookies, timeout=30)
        assert answer.status_code == 200
    throttled = usable_load(browser, ctx, f"{server.origin}/customers/{cid}", WEAK_NETWORK)
    floor_ctx = browser.new_context(**PHONE, locale="zh-CN")
    floor_ctx.add_cookies(ctx.cookies())
    floor = usable_load(browser, floor_ctx, f"{server.origin}/customers/{cid}", None)
    floor_ctx.close()
    ctx.close()
    print(
        f"\nweak network (400 kbit/s, 400 ms RTT): customer page usable in {throttled[0]:.0f} ms,"
        f" {throttled[1] / 1024:.1f} KiB transferred; same page unthrottled in the same run:"
        f" {floor[0]:.0f} ms (ratio {throttled[0] / max(floor[0], 1):.1f})"
    )
    assert throttled[0] < 3000


# 400 kbit/s both ways and 400 ms round trip, as Chromium's DevTools emulates a network.
WEAK_NETWORK = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}


def usable_load(browser, ctx, url: str, network: dict | None) -> tuple[float, int]:
    """Open `url` in a cold page; return when it became usable (ms) and the bytes moved.

    Usable: drawn with its styles and its scripts run, so Record visit opens in place.
    """
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if network:
        cdp.send("Network.emulateNetworkConditions", network)
    page.goto(url, wait_until="commit")
    page.wait_for_function(
        "() => window.kehuVisits && window.htmx && document.querySelector('[data-visit-open]')"
        " && performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd > 0",
        timeout=20000,
    )
    usable = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
    )
    weight = page.evaluate(
        "() => performance.getEntriesByType('resource').concat(performance.getEntriesByType("
        "'navigation')).reduce((s, e) => s + (e.transferSize || 0), 0)"
    )
    page.get_by_role("button", name="记录拜访").click()
    assert page.locator("#outcome-sheet").is_visible()
    page.close()
    return usable, weight


def test_today_opened_once_on_a_new_phone_opens_without_signal(server, browser):
    ctx = signed_in_context(browser, server, name="赵敏", role="rep", team=TEAM, size="phone")
    try:
        page = ctx.new_page()
        page.goto(f"{server.origin}/")  # the very first load: no service worker controls it
        page.evaluate("() => navigator.serviceWorker.ready")
        kept = """async () => {
            for (const name of await caches.keys()) {
                if (name.startsWith('kehu-pages-') && await (await caches.open(name)).match('/')) {
                    return true;
                }
            }
            return false;
        }"""
        wait_for(lambda: page.evaluate(kept), timeout=20, page=page)
        ctx.set_offline(True)
        page.goto(f"{server.origin}/")
        note = page.locator("[data-offline-copy]")
        assert note.is_visible() and "离线副本" in note.inner_text()
        # In the server's one date format for Chinese, e.g. "2026年12月1日 14:24".
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", note.inner_text())
        assert page.get_by_role("heading", name="今日").first.is_visible()
    finally:
        ctx.close()
