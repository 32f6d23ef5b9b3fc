"""Real-browser fixtures: a `kehu serve` subprocess and Debian Chromium through Playwright."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}
COUNTER = {"viewport": {"width": 1280, "height": 800}}
SHOTS = Path(os.environ.get("KEHU_SHOTS", Path(__file__).resolve().parents[2] / "out" / "shots"))


def _free_port() -> int:
    """Ask the OS for a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, log) -> None:
    """SIGTERM a server process, SIGKILL it if it lingers past 10 s, and close its log."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


class Server:
    """A running `kehu serve` on loopback with its own database."""

    def __init__(self, workdir: Path):
        """Start the server and wait until it answers."""
        self.port = _free_port()
        self.origin = f"http://localhost:{self.port}"
        self.workdir = workdir
        self.env = {
            **os.environ,
            "KEHU_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
            "KEHU_ORIGIN": self.origin,
            "KEHU_SECRET_KEY": "e2e-secret-" + "y" * 40,
            "KEHU_RATE_LIMIT_PER_MINUTE": "1000",
        }
        kehu = str(Path(sys.executable).parent / "kehu")
        self.log = open(workdir / "server.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [kehu, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=workdir,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # `kehu serve` starts a worker per CPU; on a busy machine they take a while to import.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("kehu serve did not start: " + (workdir / "server.log").read_text())

    def kehu(self, *args: str) -> str:
        """Run a `kehu` command against the same database; return its output."""
        kehu = str(Path(sys.executable).parent / "kehu")
        out = subprocess.run(
            [kehu, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return out.stdout

    def stop(self) -> None:
        """Stop the server."""
        stop_process(self.proc, self.log)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server for the tests of one module."""
    srv = Server(tmp_path_factory.mktemp("e2e"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is not installed: run `make test` as root or apt-get install chromium"
        )
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def phone(browser):
    """A phone-sized touch browser context (390×844)."""
    ctx = browser.new_context(**PHONE, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture
def counter(browser):
    """A counter-sized browser context (1280×800, mouse and keyboard)."""
    ctx = browser.new_context(**COUNTER, locale="zh-CN")
    yield ctx
    ctx.close()


def add_virtual_authenticator(page) -> tuple[object, str]:
    """Attach a CDP virtual platform authenticator (resident keys, UV) to a page."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, result["authenticatorId"]


def shot(page, name: str) -> Path:
    """Save a screenshot for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def no_horizontal_overflow(page) -> bool:
    """Return True when nothing makes the page scroll sideways."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def signed_in_context(
    browser,
    server,
    *,
    name: str,
    role: str,
    team: str | None = None,
    store: bool = False,
    size: str = "phone",
    locale: str = "zh-CN",
):
    """Create a user with `kehu user add` and a browser context already signed in as them.

    Feature e2e tests start signed in by a server-side session written to the database;
    the passkey e2e tests run the real ceremony instead.
    """
    import secrets
    import sqlite3
    from datetime import UTC, datetime, timedelta

    from web.core.sessions import COOKIE, hash_token

    args = ["user", "add", name, "--role", role]
    if team:
        args += ["--team", team]
    if store:
        args.append("--store")
    server.kehu(*args)
    token = secrets.token_urlsafe(32)
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        uid = con.execute(
            "select id from user where name = ? order by id desc", (name,)
        ).fetchone()[0]
        now = datetime.now(UTC)
        con.execute(
            "insert into web_session (id_hash, user_id, data, created_at, expires_at)"
            " values (?, ?, '{}', ?, ?)",
            (
                hash_token(token),
                uid,
                now.isoformat(sep=" "),
                (now + timedelta(days=1)).isoformat(sep=" "),
            ),
        )
    con.close()
    options = PHONE if size == "phone" else COUNTER
    ctx = browser.new_context(**options, locale=locale)
    ctx.add_cookies([{"name": COOKIE, "value": token, "url": server.origin}])
    return ctx
