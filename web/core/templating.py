"""The Jinja environment: autoescaping, translations, formatting filters, hashed static URLs."""

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

from domain import labels as code_tables
from web.core import i18n
from web.core.nav import home_url, nav_items
from web.core.static_assets import PREFIX as STATIC_PREFIX
from web.core.static_assets import content_version

WEB_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = WEB_DIR.parent / "static"


@cache
def static_hash(rel: str) -> str:
    """Return a static file's version, as the static server checks it (cached for the process)."""
    return content_version((STATIC_DIR / rel).read_bytes())


def static_url(rel: str) -> str:
    """Return a cache-busting URL for a static file."""
    return f"{STATIC_PREFIX}{rel}?v={static_hash(rel)}"


@pass_context
def csrf_field(context) -> Markup:
    """Return the hidden CSRF input for a form (Litestar builds it escaped)."""
    return Markup(context.get("csrf_input", ""))  # noqa: S704


def make_environment(*, auto_reload: bool = False) -> Environment:
    """Build the Jinja environment shared by pages and partials (reload only in debug)."""
    env = Environment(
        auto_reload=auto_reload,
        loader=FileSystemLoader(WEB_DIR),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.globals.update(
        _=i18n.gettext,
        static=static_url,
        current_locale=i18n.current_locale,
        nav_items=nav_items,
        home_url=home_url,
        csrf_field=csrf_field,
        # The code tables (domain.labels) for selects: labels.options(tables.LEVELS).
        tables=code_tables,
    )
    env.filters.update(
        datetime=i18n.fmt_datetime,
        date=i18n.fmt_date,
        number=i18n.fmt_number,
        percent=i18n.fmt_percent,
        money=i18n.fmt_money,
    )
    return env
