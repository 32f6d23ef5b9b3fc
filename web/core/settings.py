"""Frozen settings read once from KEHU_* environment variables."""

import ipaddress
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(Exception):
    """A KEHU_* setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know about its environment."""

    database_url: str
    origin: str
    secret_key: str
    timezone: str = "Asia/Shanghai"
    enrol_ttl_hours: int = 24
    session_days: int = 30
    # Attempts per minute and enrolment link, passkey or session (what can be guessed).
    rate_limit_per_minute: int = 20
    # Sign-in and enrolment requests per minute and client address: a flood guard only,
    # high enough for a whole office behind one address.
    flood_limit_per_minute: int = 600
    # Proxies whose X-Forwarded-For is believed (addresses or networks, e.g. 10.0.0.0/8).
    trusted_proxies: tuple[str, ...] = ()
    default_locale: str = "zh_CN"
    debug: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def rp_id(self) -> str:
        """The WebAuthn relying party id: the origin's host name."""
        return urlsplit(self.origin).hostname or "localhost"

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies get the Secure flag (https origins)."""
        return self.origin.startswith("https://")

    @property
    def is_https(self) -> bool:
        """Whether the public origin is https (HSTS, __Host- cookies)."""
        return self.origin.startswith("https://")

    @property
    def tz(self) -> ZoneInfo:
        """The time zone dates are shown in."""
        return ZoneInfo(self.timezone)


log = logging.getLogger("kehu.settings")

# Create a private file: fail if anything (a file or a planted symlink) is already there.
_PRIVATE_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def warn_if_readable(path: Path, what: str) -> bool:
    """Log a warning when a private file can be read by the group or others; True if so."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "%s %s is readable by other users (mode %o): run chmod 600 %s",
            what,
            path,
            stat.S_IMODE(mode),
            path,
        )
        return True
    return False


def _secret_from_file(path: Path) -> str:
    """Read the generated secret key, creating it (0600, atomically) on first run."""
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, _PRIVATE_CREATE, 0o600)
    except FileExistsError:
        warn_if_readable(path, "the secret key file")
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise SettingsError(
                f"KEHU_SECRET_KEY is not set and {path} cannot be read: {exc.strerror}"
            ) from None
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


def _proxies(raw: str) -> tuple[str, ...]:
    """Parse KEHU_TRUSTED_PROXIES: comma-separated addresses or networks."""
    found = []
    for item in raw.replace(" ", ",").split(","):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(
                f"KEHU_TRUSTED_PROXIES must list IP addresses or networks, got {item!r}"
            ) from None
    return tuple(found)


def _int(env: dict, name: str, default: int, low: int, high: int) -> int:
    """Parse an integer setting within bounds."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def load_settings(env: dict | None = None, *, workdir: Path | None = None) -> Settings:
    """Build Settings from the environment, with clear errors naming the setting."""
    env = dict(os.environ if env is None else env)
    workdir = workdir or Path.cwd()
    url = env.get("KEHU_DATABASE_URL") or f"sqlite+aiosqlite:///{workdir / 'kehu.db'}"
    if url.startswith("sqlite:///"):
        url = url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            f"KEHU_DATABASE_URL must be a sqlite:/// or postgresql:// URL, got {url!r}"
        )
    port = env.get("PORT") or "8000"
    origin = (env.get("KEHU_ORIGIN") or f"http://localhost:{port}").rstrip("/")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
        raise SettingsError(
            f"KEHU_ORIGIN must look like http://localhost:8000 or https://crm.example.com, "
            f"got {origin!r}"
        )
    secret = env.get("KEHU_SECRET_KEY") or _secret_from_file(workdir / ".kehu-secret")
    if len(secret) < 32:
        raise SettingsError("KEHU_SECRET_KEY must be at least 32 characters long")
    tz = env.get("KEHU_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"KEHU_TIMEZONE is not a known time zone: {tz!r}") from None
    locale = env.get("KEHU_DEFAULT_LOCALE") or "zh_CN"
    if locale not in ("zh_CN", "en"):
        raise SettingsError(f"KEHU_DEFAULT_LOCALE must be zh_CN or en, got {locale!r}")
    return Settings(
        database_url=url,
        origin=origin,
        secret_key=secret,
        timezone=tz,
        enrol_ttl_hours=_int(env, "KEHU_ENROL_TTL_HOURS", 24, 1, 24 * 30),
        session_days=_int(env, "KEHU_SESSION_DAYS", 30, 1, 365),
        rate_limit_per_minute=_int(env, "KEHU_RATE_LIMIT_PER_MINUTE", 20, 1, 100000),
        flood_limit_per_minute=_int(env, "KEHU_FLOOD_LIMIT_PER_MINUTE", 600, 1, 1000000),
        trusted_proxies=_proxies(env.get("KEHU_TRUSTED_PROXIES", "")),
        default_locale=locale,
        debug=env.get("KEHU_DEBUG", "") in ("1", "true", "yes"),
    )
