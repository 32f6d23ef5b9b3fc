"""Helpers shared by the tests: signed-in clients, CSRF tokens, HTML parsing."""

import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User
from db.sessions import session_save
from db.types import utcnow
from web.core.sessions import COOKIE, hash_token


def local_today() -> date:
    """Today in the company's time zone, read when called (a suite can run past midnight)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def html(response) -> HTMLParser:
    """Parse a response body as HTML."""
    return HTMLParser(response.text)


def texts(tree: HTMLParser, selector: str) -> list[str]:
    """Return the stripped text of every node matching a CSS selector."""
    return [n.text(strip=True) for n in tree.css(selector)]


async def sign_in(client: AsyncTestClient, db: AsyncSession, user: User) -> None:
    """Give the client a server-side session for the user (no passkey ceremony)."""
    token = secrets.token_urlsafe(32)
    await session_save(
        db,
        id_hash=hash_token(token),
        user_id=user.id,
        data={},
        expires_at=utcnow() + timedelta(days=1),
    )
    await db.commit()
    client.cookies.set(COOKIE, token)


async def csrf_token(client: AsyncTestClient, path: str = "/login") -> str:
    """Fetch a page and return the CSRF token of its forms."""
    response = await client.get(path)
    node = html(response).css_first("input[name=_csrf_token]")
    assert node is not None, f"no CSRF field on {path}"
    return node.attributes["value"]
