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
