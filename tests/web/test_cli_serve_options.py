"""`kehu serve`: TLS files and proxy headers reach uvicorn only as configured."""

from web.cli.main import _tls_and_proxy_options, build_parser
from web.core.settings import load_settings

ENV = {"KEHU_SECRET_KEY": "s" * 40, "KEHU_DATABASE_URL": "sqlite:///x.db"}


def _options(argv, **env):
    args = build_parser().parse_args(["serve", *argv])
    return _tls_and_proxy_options(args, load_settings({**ENV, **env}))


def test_plain_serve_ignores_forwarded_headers_and_speaks_http():
    options = _options([])
    assert options["proxy_headers"] is False
    assert options["ssl_certfile"] is None
    assert options["ssl_keyfile"] is None


def test_behind_trusted_proxies_uvicorn_believes_only_them():
    options = _options([], KEHU_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["127.0.0.1/32", "10.0.0.0/8"]


def test_tls_files_are_passed_to_uvicorn():
    options = _options(["--tls-cert", "/etc/kehu/cert.pem", "--tls-key", "/etc/kehu/key.pem"])
    assert options["ssl_certfile"] == "/etc/kehu/cert.pem"
    assert options["ssl_keyfile"] == "/etc/kehu/key.pem"


def test_a_worker_freezes_its_start_up_heap_so_full_collections_skip_it():
    import gc

    from web.cli.main import _freeze_startup_heap

    before = gc.get_freeze_count()
    try:
        _freeze_startup_heap()
        # Everything alive at start-up (here: the test session's modules and the app's) is out
        # of the collector's generations, so a full collection no longer walks it.
        assert gc.get_freeze_count() > before + 10_000
        assert len(gc.get_objects(generation=2)) < gc.get_freeze_count() / 10
    finally:
        gc.unfreeze()
