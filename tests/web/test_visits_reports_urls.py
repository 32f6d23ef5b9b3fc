"""Visits, Today, reports and their admin pages build every link from route names."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [
    *sorted((ROOT / "web/pages/visits").glob("*.html")),
    *sorted((ROOT / "web/partials/visits").glob("*.html")),
    *sorted((ROOT / "web/pages/reports").glob("*.html")),
    *sorted((ROOT / "web/partials/reports").glob("*.html")),
    *sorted((ROOT / "web/pages/today").glob("*.html")),
    ROOT / "web/pages/admin/outcomes.html",
    ROOT / "web/pages/admin/cadence.html",
]
CODE = [
    *sorted((ROOT / "web/visits").glob("*.py")),
    *sorted((ROOT / "web/reports").glob("*.py")),
    *sorted((ROOT / "web/today").glob("*.py")),
    ROOT / "web/admin/outcomes.py",
    ROOT / "static/js/visits.js",
]
# A link, form action or hx-* attribute whose value starts with a literal path.
LITERAL_LINK = re.compile(r"""\b(?:href|action|hx-[a-z]+)=["']/""")
# A literal app path in code: a string starting with one of the app's own prefixes.
LITERAL_PATH = re.compile(r"""["'`]/(?:customers|visits|reports|team|admin)\b""")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_link_through_url_for(path):
    assert LITERAL_LINK.findall(path.read_text()) == []


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_builds_no_app_path_by_hand(path):
    # Route declarations (@get("/...")) name their own path; everything else reverses it.
    lines = [
        line
        for line in path.read_text().splitlines()
        if LITERAL_PATH.search(line) and not line.lstrip().startswith(("@get(", "@post(", "path ="))
    ]
    assert lines == []
