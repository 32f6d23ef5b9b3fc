"""Refuse hostile input before any handler sees it: NUL bytes, invalid UTF-8, huge ids.

One ASGI middleware for every route, so a new route is covered by itself:

- the path, the query string and URL-encoded or multipart form bodies must be valid
  UTF-8 without NUL characters (SQLite's FTS5 and C string APIs stop at a NUL; Python's
  decoders raise on bad bytes), else 400 with a message;
- an integer path parameter outside SQLite's 64-bit integers names nothing: 404;
- an integer query parameter outside them is refused: 400 with a message.

The answer is rendered by the normal error page (in the visitor's language), through the
send of the middleware around this one, so it carries the same headers as any page.
"""

import logging
import types
import typing
from collections.abc import AsyncGenerator
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from web.core.errors import error_response
from web.core.i18n import N_
from web.core.i18n import gettext as _

log = logging.getLogger("kehu.input")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MSG_BAD_TEXT = N_(
    "What you sent contains characters that cannot be used here (a NUL character or "
    "invalid UTF-8). Remove them and try again."
)
MSG_BAD_NUMBER = N_("A number in the address is too large.")
FORM_TYPES = (RequestEncodingType.URL_ENCODED.value, RequestEncodingType.MULTI_PART.value)


class Refused(Exception):
    """The request is refused with a status and a user-facing message (None: the default)."""

    def __init__(self, status: int, message: str | None = None):
        """Keep the status and message."""
        super().__init__(status)
        self.status = status
        self.message = message


def clean_text(raw: bytes) -> bool:
    """True when bytes are valid UTF-8 without NUL characters."""
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean_urlencoded(raw: bytes) -> bool:
    """True when every key and value of a query string or form body decodes cleanly."""
    if not raw:
        return True
    return all(
        clean_text(unquote_to_bytes(part.replace(b"+", b" ")))
        for pair in raw.split(b"&")
        for part in pair.split(b"=", 1)
    )


def _int_query_names(handler) -> frozenset[str]:
    """The parameters a handler declares as integers (cached on the handler)."""
    cached = getattr(handler, "_kehu_int_params", None)
    if cached is None:
        cached = frozenset(
            name
            for name, param in handler.parsed_fn_signature.parameters.items()
            if int
            in (
                typing.get_args(param.annotation)
                if _is_union(param.annotation)
                else (param.annotation,)
            )
        )
        handler._kehu_int_params = cached
    return cached


def _is_union(annotation) -> bool:
    """True for `int | None` and `Optional[int]`."""
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def check_numbers(scope: Scope) -> None:
    """Refuse integer path (404) and query (400) parameters beyond 64 bits."""
    for value in scope.get("path_params", {}).values():
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise Refused(404)
    handler = scope.get("route_handler")
    query = scope.get("query_string", b"")
    if handler is None or not query:
        return
    names = _int_query_names(handler) - scope.get("path_params", {}).keys()
    if not names:
        return
    for pair in query.split(b"&"):
        key, _sep, value = pair.partition(b"=")
        if unquote_to_bytes(key).decode() not in names:
            continue
        text = unquote_to_bytes(value.replace(b"+", b" ")).decode().strip()
        try:
            number = int(text)
        except ValueError:
            continue  # not a number at all: the framework answers 400 for it
        if not INT64_MIN <= number <= INT64_MAX:
            raise Refused(400, MSG_BAD_NUMBER)


async def _multipart_clean(body: bytes, content_type: bytes) -> bool:
    """True when every text part of a multipart body is clean (files may hold any bytes)."""
    from litestar._multipart import parse_content_header, parse_multipart_form

    _type, options = parse_content_header(content_type.decode("latin-1"))
    boundary = options.get("boundary", "").encode()
    if not boundary:
        return True  # the framework refuses it

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        parsed = await parse_multipart_form(stream=stream(), boundary=boundary)
    except UnicodeDecodeError:
        return False
    except ClientException:
        return True  # malformed: the framework answers 400 itself
    for key, value in parsed.items():
        values = value if isinstance(value, list) else [value]
        if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
            return False
    return True


class InputCheckMiddleware:
    """Answer 400/404 for NUL, invalid UTF-8 and out-of-range integers, for every route."""

    def __init__(self, app: ASGIApp, max_body: int = 2 * 1024 * 1024):
        """Wrap an ASGI app; bodies over `max_body` are left to the framework's limit."""
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one HTTP request; pass it on unchanged when it is clean."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            raw_path = scope.get("raw_path") or scope.get("path", "").encode()
            if not clean_text(unquote_to_bytes(raw_path)):
                raise Refused(400, MSG_BAD_TEXT)
            if not clean_urlencoded(scope.get("query_string", b"")):
                raise Refused(400, MSG_BAD_TEXT)
            check_numbers(scope)
            content_type = _header(scope, b"content-type")
            if content_type.split(b";")[0].strip().decode("latin-1").lower() in FORM_TYPES:
                body, more = await _read_body(receive, self.max_body)
                receive = _replay(body, more, receive)
                if not more:
                    if content_type.lower().startswith(b"multipart/"):
                        ok = await _multipart_clean(body, content_type)
                    else:
                        ok = clean_urlencoded(body)
                    if not ok:
                        raise Refused(400, MSG_BAD_TEXT)
        except Refused as refused:
            log.info("refused input status=%s path=%r", refused.status, scope.get("path"))
            request: Request = Request(scope, receive)
            message = _(refused.message) if refused.message else None
            response = error_response(request, refused.status, message)
            await response.to_asgi_response(scope["litestar_app"], request)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> bytes:
    """One request header's raw value (b'' when absent)."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return b""


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """Read the body up to `limit` bytes; return it and whether more is still unread."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > limit:
            return b"".join(chunks), True


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A receive that hands the buffered body on first, then the rest of the stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
