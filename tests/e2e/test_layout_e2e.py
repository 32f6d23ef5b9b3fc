"""Every page at 390×844 in both languages: no sideways scrolling, 44 px targets, 14 px text.

The pages come from the route access table: every GET route that answers a full HTML page
is opened as a role that may see it, with its path parameters filled the way
tests/web/test_access_matrix.py fills them (the same world, built in the server's database).
"""

import asyncio
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from domain.enums import Role
from tests.e2e.conftest import PHONE, Server
from tests.web.test_access_matrix import (
    ROLE_RULES,
    Requester,
    World,
    _routes,
    build_world,
    url_for,
)
from web.app import create_app
from web.core import access
from web.core.locale import LANG_COOKIE
from web.core.sessions import COOKIE
from web.core.settings import load_settings

pytestmark = pytest.mark.e2e

# The role a page is checked as: the first of these the route admits (phones first).
ROLE_ORDER = (Role.REP, Role.CLERK, Role.MANAGER, Role.ADMIN)
# Pages whose look depends on the role: checked as every role that may open them.
EVERY_ROLE = {"home", "counter.page", "customers.list"}
LOCALES = {"zh-CN": "zh_CN", "en-US": "en"}
MIN_TARGET = 44
MIN_TEXT = 14
# Named exceptions to the 44 px rule, each with its reason.
ALLOWED_SMALL = {
    # WCAG 2.5.8 "inline": a link inside a sentence is sized by the line it is part of.
    "inline-link": "a link inside running text",
}
SHOTS = os.environ.get("KEHU_LAYOUT_SHOTS")  # a folder: save one screenshot per page there

# Runs in the page: every problem as a short line naming the element.
CHECK = """({minTarget, minText}) => {
  const problems = [];
  const vw = window.innerWidth;
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.classList.length) s += "." + Array.from(el.classList).join(".");
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim();
    return s + (text ? " “" + text.replace(/\\s+/g, " ").slice(0, 30) + "”" : "");
  };
  const shown = (el) => {
    if (el.closest("[hidden], .visually-hidden, template")) return false;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const r = el.getBoundingClientRect();
    return r.width >= 2 && r.height >= 2 && r.right > 0 && r.bottom > -window.scrollY;
  };
  const width = document.documentElement.scrollWidth;
  if (width > vw) {
    const wide = Array.from(document.body.querySelectorAll("*"))
      .filter((el) => shown(el) && el.getBoundingClientRect().right > vw + 1)
      .slice(-3).map(name);
    problems.push("sideways scroll: " + width + " px > " + vw + " px (" + wide.join(", ") + ")");
  }
  const tabs = document.querySelector("nav.tabs");
  if (tabs && tabs.scrollWidth > tabs.clientWidth + 1) {
    problems.push("the tab bar scrolls sideways: " + tabs.scrollWidth + " px in " +
      tabs.clientWidth);
  }
  for (const tab of tabs ? tabs.querySelectorAll("a") : []) {
    if (tab.scrollWidth > tab.clientWidth + 1) problems.push("clipped tab: " + name(tab));
  }
  const inlineLink = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    return Array.from(el.parentElement.childNodes).some(
      (n) => n.nodeType === 3 && /[\\p{L}\\p{N}]/u.test(n.textContent));
  };
  const targets =
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]";
  for (const el of document.querySelectorAll(targets)) {
    if (!shown(el) || inlineLink(el)) continue;
    let r = el.getBoundingClientRect();
    const label = el.matches("input[type=checkbox], input[type=radio]") &&
      (el.closest("label") || (el.id && document.querySelector('label[for="' + el.id + '"]')));
    if (label) {  // the label is part of the target: a tap on it toggles the box
      const l = label.getBoundingClientRect();
      const top = Math.min(r.top, l.top), left = Math.min(r.left, l.left);
      r = {width: Math.max(r.right, l.right) - left, height: Math.max(r.bottom, l.bottom) - top};
    }
    const after = getComputedStyle(el, "::after");
    if (after.content !== "none" && after.position === "absolute" && el.offsetParent) {
      r = el.offsetParent.getBoundingClientRect();  // a whole-row link: its row is the target
    }
    if (r.width < minTarget - 0.5 || r.height < minTarget - 0.5) {
      const size = Math.round(r.width) + "×" + Math.round(r.height);
      problems.push("small target " + size + ": " + name(el));
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
    seen.add(el);
    if (el.closest("script, style, noscript, option") || !shown(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minText - 0.05) problems.push("small text " + size + " px: " + name(el));
  }
  return problems;
}"""


def _build(settings) -> World:
    """Seed the access matrix's world through the app, in a thread with its own loop."""

    async def run() -> World:
        app = create_app(settings)
        async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
            return await build_world(app, Requester(client, {}, settings.secret_key))

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def world_server(tmp_path_factory, new_database):
    """A server whose database holds the matrix's world; the app to reverse routes with."""
    workdir = tmp_path_factory.mktemp("layout")
    url = new_database(tmp_path_factory.mktemp("layout-template"))
    shutil.copy(url.split(":///", 1)[1], workdir / "e2e.db")
    settings = load_settings(
        {
            "KEHU_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
            "KEHU_SECRET_KEY": "e2e-secret-" + "y" * 40,
            "KEHU_ORIGIN": "http://localhost:8000",
            "KEHU_RATE_LIMIT_PER_MINUTE": "100000",
        },
        workdir=workdir,
    )
    world = _build(settings)
    srv = Server(workdir)
    yield srv, create_app(settings), world
    srv.stop()


def _role_for(name: str) -> list[Role | None]:
    """The roles a page is checked as."""
    policy = access.ROUTES[name]
    if policy.public:
        return [None]
    fit = [r for r in ROLE_ORDER if policy.allows(r) and (name, r) not in ROLE_RULES]
    return fit if name in EVERY_ROLE else fit[:1]


def _pages(app, world: World) -> list[tuple[Role | None, str, str]]:
    """(role, route name, URL) of every GET route, with the role that opens it (None: anyone)."""
    found = []
    for method, _path, handler in _routes(app):
        policy = access.ROUTES.get(handler.name or "")
        if method != "GET" or policy is None or handler.name == "notfound":
            continue
        for role in _role_for(handler.name):
            found.append((role, handler.name, url_for(app, world, handler, role, "own")))
    return found


def test_every_page_fits_a_phone_in_both_languages(world_server, browser):
    server, app, world = world_server
    pages = _pages(app, world)
    problems: list[str] = []
    checked = 0
    for locale, code in LOCALES.items():
        for role in (*ROLE_ORDER, None):
            ctx = browser.new_context(**PHONE, locale=locale)
            cookies = [{"name": LANG_COOKIE, "value": code, "url": server.origin}]
            if role is not None:
                cookies.append({"name": COOKIE, "value": world.cookies[role], "url": server.origin})
            ctx.add_cookies(cookies)
            page = ctx.new_page()
            for opener, name, url in pages:
                if opener != role:
                    continue
                answer = ctx.request.get(server.origin + url, max_redirects=0)
                kind = answer.headers.get("content-type", "")
                if answer.status != 200 or not kind.startswith("text/html"):
                    continue  # a fragment's plain GET redirects to its page; files, JSON
                page.goto(server.origin + url)
                page.wait_for_load_state("load")
                checked += 1
                found = page.evaluate(CHECK, {"minTarget": MIN_TARGET, "minText": MIN_TEXT})
                who = role.value if role else "visitor"
                problems += [f"{locale} {who} {name} {url}: {p}" for p in found]
                if SHOTS:
                    Path(SHOTS).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=f"{SHOTS}/{locale}-{who}-{name}.png")
            ctx.close()
    assert checked > 60, f"only {checked} pages were checked"
    assert not problems, f"{len(problems)} layout problems:\n" + "\n".join(problems)
