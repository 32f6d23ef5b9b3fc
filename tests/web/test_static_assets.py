"""Static files: compressed once, cached for a year when versioned, revalidated otherwise."""

import gzip

import brotli

from tests.support import html
from web.core.templating import STATIC_DIR


async def _css_url(client) -> str:
    tree = html(await client.get("/login"))
    return tree.css_first("link[rel=stylesheet]").attributes["href"]


async def test_versioned_css_is_brotli_and_immutable(client):
    url = await _css_url(client)
    response = await client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["x-content-type-options"] == "nosniff"
    # httpx decodes brotli itself; the bytes a browser ends up with are the file's.
    assert response.content == (STATIC_DIR / "css/app.css").read_bytes()
    assert int(response.headers["content-length"]) < len(response.content) / 2


async def test_gzip_only_client_gets_gzip_and_others_get_identity(client):
    url = await _css_url(client)
    raw = (STATIC_DIR / "css/app.css").read_bytes()
    response = await client.get(url, headers={"Accept-Encoding": "gzip, br;q=0"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == raw
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == raw


async def test_etag_revalidation_answers_304_without_a_body(client):
    response = await client.get("/static/js/htmx.min.js")
    assert response.headers["cache-control"] == "no-cache"  # unversioned: revalidate
    again = await client.get(
        "/static/js/htmx.min.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_stale_version_is_not_cached_for_a_year(client):
    response = await client.get("/static/css/app.css?v=0000000000")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


async def test_unknown_static_file_is_404_and_head_has_no_body(client):
    assert (await client.get("/static/css/nope.css")).status_code == 404
    assert (await client.get("/static/../pyproject.toml")).status_code == 404
    head = await client.head("/static/css/app.css", headers={"Accept-Encoding": "br"})
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0


def test_compressed_variants_round_trip():
    from web.core.static_assets import load_assets

    assets = load_assets(STATIC_DIR)
    js = assets["js/htmx.min.js"]
    assert brotli.decompress(js.br) == js.identity
    assert gzip.decompress(js.gzip) == js.identity
