"""Translations from gettext catalogues, the request's locale, and locale-aware formatting."""

from collections.abc import Iterable
from contextvars import ContextVar
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = ("zh_CN", "en")
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"

_locale: ContextVar[str] = ContextVar("kehu_locale", default="zh_CN")
_tz: ContextVar[ZoneInfo] = ContextVar("kehu_tz", default=ZoneInfo("Asia/Shanghai"))


def load_catalogue(locale: str, root: Path = LOCALE_DIR) -> dict[str, str]:
    """Merge every .po file of a locale into one msgid → msgstr map."""
    messages: dict[str, str] = {}
    for po in sorted((root / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for msg in catalog:
            if msg.id and msg.string and not msg.fuzzy and isinstance(msg.id, str):
                messages[msg.id] = msg.string
    return messages


_CATALOGUES: dict[str, dict[str, str]] = {}


def catalogue(locale: str) -> dict[str, str]:
    """Return the (cached) catalogue of a locale; English is the msgids themselves."""
    if locale not in _CATALOGUES:
        _CATALOGUES[locale] = {} if locale == "en" else load_catalogue(locale)
    return _CATALOGUES[locale]


def set_locale(locale: str, tz: ZoneInfo | None = None) -> None:
    """Set the locale (and time zone) for the current request."""
    _locale.set(locale if locale in LOCALES else "zh_CN")
    if tz is not None:
        _tz.set(tz)


def current_locale() -> str:
    """Return the current request's locale."""
    return _locale.get()


def gettext(message: str, **params: object) -> str:
    """Translate a message and fill %(name)s placeholders."""
    text = catalogue(_locale.get()).get(message, message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """Translate a message with a count; Chinese has one form, English two."""
    params.setdefault("num", n)
    if _locale.get() == "en":
        return (singular if n == 1 else plural) % params
    text = catalogue(_locale.get()).get(plural) or catalogue(_locale.get()).get(singular)
    return (text or (singular if n == 1 else plural)) % params


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def pick_locale(user_locale: str | None, cookie: str | None, accept: str, default: str) -> str:
    """Choose the locale: user setting, else cookie, else Accept-Language, else default."""
    for choice in (user_locale, cookie):
        if choice in LOCALES:
            return choice
    for lang in _accept_languages(accept):
        if lang.startswith("zh"):
            return "zh_CN"
        if lang.startswith("en"):
            return "en"
    return default


def _accept_languages(header: str) -> Iterable[str]:
    """Yield the languages of an Accept-Language header, best first."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        lang, _sep, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if lang:
            ranked.append((-weight, i, lang.lower()))
    return [lang for _w, _i, lang in sorted(ranked)]


@lru_cache(maxsize=8)
def _parse_locale(code: str) -> Locale:
    """Parse a locale once per process (Locale.parse costs ~0.6 ms a call)."""
    return Locale.parse(code)


def _babel_locale() -> Locale:
    """The Babel locale of the current request."""
    return _parse_locale(_locale.get())


# Dates look the same everywhere in a language ("Dec 1, 2026" / "2026年12月1日"): the
# templates' "short", "medium" and "long" all mean this one format.
DATE_FORMAT = "medium"
DATE_STYLES = frozenset({"short", "medium", "long", "full"})


# Babel builds each date and time string from its pattern on every call (~3 % of a customer
# page's CPU for its 20-visit timeline, issue 17). A day's or a minute's text in a language
# never changes, so each is formatted once per process (bounded: least recently used out).
@lru_cache(maxsize=4096, typed=True)
def _day_text(day: date, pattern: str, locale: str) -> str:
    """A date in a language's pattern ("medium", or a Babel pattern)."""
    return format_date(day, pattern, locale=_parse_locale(locale))


@lru_cache(maxsize=2048)
def _minute_text(hour: int, minute: int, locale: str) -> str:
    """A time of day in a language's short format (hours and minutes only)."""
    return format_time(time(hour, minute), "short", locale=_parse_locale(locale))


def fmt_datetime(value: datetime | None, fmt: str = "short") -> str:
    """Format an aware datetime in the user's time zone and language."""
    if value is None:
        return ""
    local = value.astimezone(_tz.get())
    locale = _locale.get()
    if fmt == "time":
        return _minute_text(local.hour, local.minute, locale)
    if fmt in DATE_STYLES:  # one date format per language, with the time beside it
        day = _day_text(local.date(), DATE_FORMAT, locale)
        return f"{day} {_minute_text(local.hour, local.minute, locale)}"
    return format_datetime(local, fmt, locale=_babel_locale())


def fmt_date(value: date | datetime | None, fmt: str = "medium") -> str:
    """Format a date (or the local date of a datetime) in the user's language."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_tz.get()).date()
    return _day_text(value, DATE_FORMAT if fmt in DATE_STYLES else fmt, _locale.get())


# Numbers too: Babel parses and applies the locale's pattern on each call, and a page shows
# the same few values (a completeness share, amounts) again and again.
@lru_cache(maxsize=4096, typed=True)  # 1, 1.0 and Decimal(1) are separate entries
def _number_text(kind: str, value: float | int, locale: str, currency: str = "") -> str:
    """A number, share or amount in a language's format."""
    babel = _parse_locale(locale)
    if kind == "percent":
        return format_percent(value, locale=babel)
    if kind == "money":
        return format_currency(value, currency, locale=babel)
    return format_decimal(value, locale=babel)


def fmt_number(value: float | int | None) -> str:
    """Format a number with the locale's separators."""
    return "" if value is None else _number_text("number", value, _locale.get())


def fmt_percent(value: float | None) -> str:
    """Format a share (0..1) as a percentage."""
    return "" if value is None else _number_text("percent", value, _locale.get())


def fmt_money(cents: int | None, currency: str = "CNY") -> str:
    """Format integer cents as money in the user's language."""
    if cents is None:
        return ""
    return _number_text("money", cents / 100, _locale.get(), currency)
