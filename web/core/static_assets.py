"""Static files served from memory, compressed once at start-up, ahead of the app's stack.

The static directory is small (CSS, htmx, a few scripts, an icon) and never changes while
the server runs, so each file is read, hashed and compressed (brotli 11, gzip 9) once.
A request then costs a dictionary lookup: no file system call, no per-request
compression, and no session, CSRF or template middleware. Versioned URLs (`?v=<hash>`,
what `static()` writes in templates) are cached for a year; other URLs revalidate with
the ETag and get 304 when unchanged.
"""

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
from litestar.types import Receive, Scope, Send

PREFIX = "/static/"
TEXT_TYPES = ("text/", "application/javascript", "image/svg+xml", "application/json")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff")]


@dataclass(frozen=True)
class Asset:
    """One static file with its precomputed variants."""

    content_type: str
    etag: str
    version: str
    identity: bytes
    br: bytes | None
    gzip: bytes | None


def content_version(body: bytes) -> str:
    """The short content hash that versions a static URL (`?v=`)."""
    return hashlib.sha256(body).hexdigest()[:10]


def load_assets(directory: Path) -> dict[str, Asset]:
    """Read every file under `directory`, keyed by its URL path below /static/."""
    assets: dict[str, Asset] = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(directory).as_posix()
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        version = content_version(body)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/javascript":
            content_type += "; charset=utf-8"
        br = gz = None
        if content_type.startswith(TEXT_TYPES) and len(body) > 256:
            br, gz = _compressed(digest, body)
        assets[rel] = Asset(content_type, f'"{digest[:20]}"', version, body, br, gz)
    return assets


# Compressed variants by content hash, kept for the process: every app built in the same
# process (the tests build one per test) reuses them instead of running brotli 11 again.
_COMPRESSED: dict[str, tuple[bytes | None, bytes | None]] = {}


def _compressed(digest: str, body: bytes) -> tuple[bytes | None, bytes | None]:
    """Return the brotli and gzip variants of a body, compressing each content only once."""
    if digest not in _COMPRESSED:
        _COMPRESSED[digest] = (
            _smaller(brotli.compress(body, quality=11), body),
            _smaller(gzip.compress(body, compresslevel=9, mtime=0), body),
        )
    return _COMPRESSED[digest]


def _smaller(packed: bytes, body: bytes) -> bytes | None:
    """Keep a compressed variant only if it saves something."""
    return packed if len(packed) < len(body) else None


def accepted_encodings(header: str) -> set[str]:
    """Parse Accept-Encoding into the set of codings the client accepts (q > 0)."""
    accepted = set()
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            accepted.add(name.strip().lower())
    return accepted


class StaticAssets:
    """An ASGI responder for GET/HEAD under /static/ from the in-memory assets."""

    def __init__(self, directory: Path):
        """Load and compress every file in `directory`."""
        self.assets = load_assets(directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one static request."""
        asset = self.assets.get(scope["path"][len(PREFIX) :])
        method = scope["method"]
        if asset is None or method not in ("GET", "HEAD"):
            status, text = (404, b"Not found") if asset is None else (405, b"Method not allowed")
            await _send(send, status, [(b"content-type", b"text/plain; charset=utf-8")], text)
            return
        request_headers = dict(scope["headers"])
        query = scope.get("query_string", b"").decode("latin-1")
        versioned = query == f"v={asset.version}"
        headers = [
            (b"content-type", asset.content_type.encode()),
            (b"etag", asset.etag.encode()),
            (b"vary", b"Accept-Encoding"),
            (
                b"cache-control",
                b"public, max-age=31536000, immutable" if versioned else b"no-cache",
            ),
            *SECURITY_HEADERS,
        ]
        if request_headers.get(b"if-none-match", b"").decode("latin-1") == asset.etag:
            await _send(send, 304, headers, b"")
            return
        accepted = accepted_encodings(request_headers.get(b"accept-encoding", b"").decode())
        body = asset.identity
        if asset.br is not None and "br" in accepted:
            body = asset.br
            headers.append((b"content-encoding", b"br"))
        elif asset.gzip is not None and "gzip" in accepted:
            body = asset.gzip
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await _send(send, 200, headers, b"" if method == "HEAD" else body)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Send a complete response."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
