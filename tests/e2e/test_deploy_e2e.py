"""Production deployment: the repo's nginx config in front of `kehu serve`, and serve's own TLS.

The nginx site file of deploy/ is templated to a throwaway self-signed certificate for
`localhost` and free ports; Chromium trusts that one certificate by its key's hash (WebAuthn
refuses pages with certificate errors), enrols a passkey and signs in over https.
"""

import base64
import hashlib
import ipaddress
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import (
    ARGS,
    CHROMIUM,
    PHONE,
    _free_port,
    add_virtual_authenticator,
    shot,
    stop_process,
)
from tests.e2e.test_passkeys_e2e import HOLD_AUTOFILL

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "kehu.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
KEHU = str(Path(sys.executable).parent / "kehu")
# nginx connects to Kehu from this address (proxy_bind), so the browser's own 127.0.0.1 can
# only reach the audit log through X-Forwarded-For.
PROXY_ADDRESS = "127.0.0.3"
SPOOFED = "203.0.113.9"


def _certificate(folder: Path) -> tuple[Path, Path, str]:
    """Write a self-signed localhost certificate and key; return them and the key's SPKI hash."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert_file, key_file, base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _trusting(cert: Path) -> ssl.SSLContext:
    """A TLS client context that trusts exactly the test certificate."""
    return ssl.create_default_context(cafile=str(cert))


def _replace(text: str, old: str, new: str) -> str:
    """Replace a token the deploy config must contain (a changed config fails loudly here)."""
    assert old in text, f"deploy/nginx/kehu.conf no longer contains {old!r}"
    return text.replace(old, new)


def site_for_test(*, http: int, https: int, upstream: int, cert: Path, key: Path) -> str:
    """The repo's nginx site with this test's host, ports, certificate and proxy address."""
    site = SITE.read_text()
    site = _replace(site, "/etc/letsencrypt/live/crm.example.com/fullchain.pem", str(cert))
    site = _replace(site, "/etc/letsencrypt/live/crm.example.com/privkey.pem", str(key))
    site = _replace(site, "server_name crm.example.com;", "server_name localhost;")
    site = _replace(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    site = _replace(site, "listen 80;", f"listen 127.0.0.1:{http};")
    site = _replace(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    site = _replace(
        site, "proxy_pass http://kehu;", f"proxy_bind {PROXY_ADDRESS};\n    proxy_pass http://kehu;"
    )
    # Loopback only: the machine's other addresses are not this test's to open.
    return "\n".join(ln for ln in site.splitlines() if "listen [::]" not in ln)


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Wait until something listens on a loopback port, or fail with the process's log."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args[0]} did not start: " + log.read_text())


class Kehu:
    """`kehu serve` in a subprocess with its own database and environment."""

    def __init__(self, workdir: Path, *, port: int, origin: str, extra_env: dict, args=()):
        """Start the server and wait until its port answers."""
        self.workdir = workdir
        self.env = {
            **os.environ,
            "KEHU_DATABASE_URL": f"sqlite:///{workdir / 'kehu.db'}",
            "KEHU_ORIGIN": origin,
            "KEHU_SECRET_KEY": "deploy-secret-" + "z" * 40,
            "KEHU_RATE_LIMIT_PER_MINUTE": "1000",
            **extra_env,
        }
        self.log_path = workdir / "kehu.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [KEHU, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=workdir,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_for_port(port, self.proc, self.log_path)

    def kehu(self, *args: str) -> str:
        """Run a `kehu` command against the same database; return its output."""
        return subprocess.run(
            [KEHU, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout

    def stop(self) -> None:
        """Stop the server."""
        stop_process(self.proc, self.log)


class Nginx:
    """Debian's nginx in the foreground with a private prefix, pid file and logs."""

    def __init__(self, folder: Path, site: str, port: int):
        """Write nginx.conf around the site, check it with `nginx -t`, start, wait for `port`."""
        (folder / "kehu.conf").write_text(site)
        # Running as root, nginx's workers would drop to `nobody`, who cannot enter the
        # test's private temp folders.
        user = "user root;" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (folder / "nginx.conf").write_text(
            f"""{user}
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder / "access.log"};
    {temp}
    include {folder / "kehu.conf"};
}}
"""
        )
        command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        self.log_path = folder / "nginx.out"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        _wait_for_port(port, self.proc, self.log_path)

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown) and close the log."""
        stop_process(self.proc, self.log)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """nginx on https://localhost:<port> proxying to a `kehu serve` on a loopback port."""
    if not Path(NGINX).exists():
        pytest.skip(
            "nginx is not installed: run `make test` as root (scripts/system-deps.sh installs "
            "it) or apt-get install nginx"
        )
    folder = tmp_path_factory.mktemp("deploy")
    cert, key, spki = _certificate(folder)
    http, https, upstream = _free_port(), _free_port(), _free_port()
    origin = f"https://localhost:{https}"
    kehu = Kehu(
        folder,
        port=upstream,
        origin=origin,
        extra_env={"KEHU_TRUSTED_PROXIES": PROXY_ADDRESS},
    )
    site = site_for_test(http=http, https=https, upstream=upstream, cert=cert, key=key)
    try:
        nginx = Nginx(folder, site, https)
    except BaseException:
        kehu.stop()
        raise
    yield {"origin": origin, "http": http, "kehu": kehu, "cert": cert, "spki": spki}
    nginx.stop()
    kehu.stop()


@pytest.fixture(scope="module")
def trusting_browser(browser, deployment):
    """A second Chromium that trusts only the test certificate's key (a secure context)."""
    b = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*ARGS, f"--ignore-certificate-errors-spki-list={deployment['spki']}"],
        headless=True,
    )
    yield b
    b.close()


def _audit_ips(workdir: Path, action: str) -> list[str]:
    """The client addresses of the audit rows of one action, oldest first."""
    con = sqlite3.connect(workdir / "kehu.db")
    try:
        rows = con.execute(
            "select ip from audit_event where action = ? order by id", (action,)
        ).fetchall()
    finally:
        con.close()
    return [ip for (ip,) in rows]


def test_passkey_sign_in_over_https_through_nginx(deployment, trusting_browser):
    origin, kehu = deployment["origin"], deployment["kehu"]
    url = kehu.kehu("user", "add", "王芳", "--role", "admin").strip().splitlines()[-1]
    assert url.startswith(origin + "/enroll/")
    ctx = trusting_browser.new_context(**PHONE, locale="zh-CN")
    # A client naming another address: the proxy appends the real one, and Kehu reads the
    # chain from the right, so this header must not reach the audit log.
    ctx.set_extra_http_headers({"X-Forwarded-For": SPOOFED})
    page = ctx.new_page()
    page.add_init_script(HOLD_AUTOFILL)
    add_virtual_authenticator(page)
    try:
        page.goto(url)
        assert page.evaluate("() => window.isSecureContext && location.protocol") == "https:"
        page.get_by_role("button", name="创建通行密钥").tap()
        page.wait_for_url(origin + "/")
        assert page.get_by_role("link", name="今日").is_visible()

        page.get_by_role("button", name="退出登录").tap()
        page.wait_for_url("**/login")
        shot(page, "phone-login-https-nginx")
        page.get_by_role("button", name="使用通行密钥登录").tap()
        page.wait_for_url(origin + "/")
        # The session works: a signed-in page loads, and its cookie is Secure.
        page.goto(origin + "/settings")
        assert page.get_by_role("heading", name="设置").is_visible()
        assert all(c["secure"] for c in ctx.cookies(origin))
    finally:
        ctx.close()
    # The browser's own address, not nginx's (127.0.0.3) nor the client's header.
    assert _audit_ips(kehu.workdir, "signin") == ["127.0.0.1"]


def test_nginx_redirects_http_to_https_and_passes_kehus_headers(deployment):
    plain = httpx.get(f"http://localhost:{deployment['http']}/login", timeout=10)
    assert plain.status_code == 301
    assert plain.headers["location"] == "https://localhost/login"
    secure = httpx.get(deployment["origin"] + "/healthz", verify=_trusting(deployment["cert"]))
    assert secure.json() == {"status": "ok"}
    assert secure.http_version in ("HTTP/1.1", "HTTP/2")
    # Kehu's own headers come through the proxy: HSTS because KEHU_ORIGIN is https.
    assert "max-age=" in secure.headers["strict-transport-security"]


def test_kehu_serve_speaks_https_itself_with_tls_cert_and_key(tmp_path):
    cert, key, _spki = _certificate(tmp_path)
    port = _free_port()
    origin = f"https://localhost:{port}"
    server = Kehu(
        tmp_path,
        port=port,
        origin=origin,
        extra_env={},
        args=("--tls-cert", str(cert), "--tls-key", str(key)),
    )
    try:
        answer = httpx.get(origin + "/login", verify=_trusting(cert), timeout=10)
        assert answer.status_code == 200
        assert "使用通行密钥登录" in answer.text or "Sign in with passkey" in answer.text
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://localhost:{port}/healthz", timeout=10)
    finally:
        server.stop()
    assert f"Kehu is serving on https://127.0.0.1:{port}" in server.log_path.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "missing.pem", "--tls-key", "key.pem"], "cannot use --tls-cert"),
    ],
)
def test_kehu_serve_refuses_tls_files_it_cannot_use(tmp_path, args, message):
    _certificate(tmp_path)
    env = {**os.environ, "KEHU_SECRET_KEY": "k" * 40, "KEHU_DATABASE_URL": "sqlite:///x.db"}
    done = subprocess.run(
        [KEHU, "serve", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching the database
