"""Every user-visible string has a Simplified Chinese translation in the catalogues."""

import importlib
from pathlib import Path

from babel.messages.extract import extract_from_dir

from web.core.i18n import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _msgids() -> set[str]:
    """Extract msgids from the web templates and Python code."""
    found: set[str] = set()
    method_map = [
        ("**/pages/**.html", "jinja2"),
        ("**/partials/**.html", "jinja2"),
        ("**.py", "python"),
    ]
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        ROOT / "web",
        method_map=method_map,
        keywords=KEYWORDS,
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        for msg in message if isinstance(message, tuple) else (message,):
            if msg:
                found.add(msg)
    for module in (
        "domain.phones",
        "domain.names",
        "domain.customers",
        "domain.rfm",
        "domain.users",
        "domain.labels",
        "domain.exports",
        "domain.imports",
        "web.imports.reader",
        "pdf.weekly",
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        for name in ("MESSAGES", "MSGIDS"):
            found.update(getattr(mod, name, ()))
    return found


def test_every_message_has_a_chinese_translation():
    catalogue = load_catalogue("zh_CN")
    missing = sorted(m for m in _msgids() if m not in catalogue)
    assert not missing, f"untranslated messages: {missing}"


def test_extraction_sees_the_navigation_and_templates():
    msgids = _msgids()
    assert {"Today", "Customers", "Counter", "Team", "Weekly report"} <= msgids
    assert "Search customers" in msgids


def test_remembered_date_and_time_texts_follow_the_language_and_time_zone():
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from web.core import i18n

    at = datetime(2026, 12, 1, 17, 5, tzinfo=UTC)  # 2 Dec 01:05 in Shanghai
    seen = []
    for locale, tz in [
        ("zh_CN", ZoneInfo("Asia/Shanghai")),
        ("en", ZoneInfo("Asia/Shanghai")),
        ("zh_CN", ZoneInfo("Asia/Shanghai")),
        ("en", ZoneInfo("Europe/Berlin")),
    ]:
        i18n.set_locale(locale, tz)
        seen.append((i18n.fmt_datetime(at), i18n.fmt_datetime(at, "time"), i18n.fmt_date(at)))
    i18n.set_locale("zh_CN", ZoneInfo("Asia/Shanghai"))
    assert seen == [
        ("2026年12月2日 01:05", "01:05", "2026年12月2日"),
        ("Dec 2, 2026 1:05\u202fAM", "1:05\u202fAM", "Dec 2, 2026"),
        ("2026年12月2日 01:05", "01:05", "2026年12月2日"),
        ("Dec 1, 2026 6:05\u202fPM", "6:05\u202fPM", "Dec 1, 2026"),
    ]
    assert i18n.fmt_date(date(2026, 2, 3), "yyyy-MM-dd") == "2026-02-03"  # a Babel pattern


def test_remembered_numbers_follow_the_language():
    from web.core import i18n

    seen = []
    for locale in ("en", "zh_CN", "en"):
        i18n.set_locale(locale)
        seen.append((i18n.fmt_money(123456), i18n.fmt_percent(0.75), i18n.fmt_number(1234.5)))
    i18n.set_locale("zh_CN")
    assert seen == [
        ("CN¥1,234.56", "75%", "1,234.5"),
        ("¥1,234.56", "75%", "1,234.5"),
        ("CN¥1,234.56", "75%", "1,234.5"),
    ]
