"""The readable copy of a person's data (PIPL Art. 45) as an A4 PDF: data in, bytes out."""

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

import jinja2

from domain import labels
from pdf.fonts import FONT_STACK, write_pdf

Translate = Callable[[str], str]

FIELD_LABELS: dict[str, str] = {
    "number": "Customer number",
    "name": "Name",
    "kind": "Kind",
    "phone": "Phone",
    "contact_name": "Contact name",
    "email": "Email",
    "industry": "Industry",
    "needs": "Needs",
    "address": "Address",
    "lat": "Latitude",
    "lng": "Longitude",
    "tags": "Tags",
    "custom": "Custom fields",
    "level": "Level",
    "stage": "Stage",
    "status": "Status",
    "data_basis": "Basis for holding the data",
    "data_basis_on": "Consent given on",
    "created_at": "Created at",
    "role": "Role",
    "comment": "Comment",
    "note": "Note",
    "at": "When",
    "outcome": "Outcome",
    "method": "Method",
    "feedback": "Feedback",
    "next_action": "Next action",
    "from_stage": "From stage",
    "to_stage": "To stage",
    "from_status": "From status",
    "to_status": "To status",
    "by": "By",
    "action": "Action",
    "detail": "Details",
}
TEXT_MSGIDS: tuple[str, ...] = (
    "Your personal data held by Kehu",
    "Request #{id}, prepared {when}",
    "Customer record",
    "Contacts",
    "Visits",
    "Stage history",
    "Audit events",
    "None.",
)
MSGIDS: tuple[str, ...] = (*FIELD_LABELS.values(), *TEXT_MSGIDS)

_TEMPLATE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 16mm 14mm; }
html { font-family: {{ font_stack|safe }}; font-size: 9pt; color: #1f2328; }
h1 { font-size: 15pt; margin: 0 0 1mm; } h2 { font-size: 11pt; margin: 6mm 0 2mm; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.3pt solid #bbb;
padding: 1mm 1.5mm; text-align: left; vertical-align: top; } th { background: #eef1f5; }
.muted { color: #555; }
</style></head><body>
<h1>{{ _("Your personal data held by Kehu") }}</h1>
<p class="muted">{{ _("Request #{id}, prepared {when}").format(id=request_id, when=when) }}</p>
{% for rec in records %}
<h2>{{ _("Customer record") }} {{ rec.customer.number }}</h2>
<table>{% for k, v in rec.customer.items() %}
<tr><th>{{ label(k) }}</th><td>{{ show(k, v) }}</td></tr>{% endfor %}</table>
{% for key, title in sections %}
<h2>{{ _(title) }}</h2>
{% if rec[key] %}
<table><tr>{% for k in rec[key][0].keys() %}<th>{{ label(k) }}</th>{% endfor %}</tr>
{% for row in rec[key] %}<tr>{% for k, v in row.items() %}<td>{{ show(k, v) }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% else %}<p class="muted">{{ _("None.") }}</p>{% endif %}
{% endfor %}
{% endfor %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_COMPILED = _ENV.from_string(_TEMPLATE)
SECTIONS = (
    ("contacts", "Contacts"),
    ("visits", "Visits"),
    ("history", "Stage history"),
    ("events", "Audit events"),
)


# Columns that hold a code: the copy shows the code's name in the person's language.
CODE_TABLES: dict[str, dict[str, str]] = {
    "kind": labels.KINDS,
    "level": labels.LEVELS,
    "stage": labels.STAGES,
    "from_stage": labels.STAGES,
    "to_stage": labels.STAGES,
    "status": labels.STATUSES,
    "from_status": labels.STATUSES,
    "to_status": labels.STATUSES,
    "source": labels.SOURCES,
    "loss_reason": labels.LOSS_REASONS,
    "method": labels.METHODS,
    "role": labels.CONTACT_ROLES,
    "data_basis": labels.DATA_BASES,
}


def _show(key: str, value: object, _: Translate) -> str:
    """A JSON-ready value as readable text: codes by name, empty lists and maps as nothing."""
    if value is None or value in ([], {}):
        return ""
    if isinstance(value, str) and (key == "at" or key.endswith("_at")):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(value).astimezone(UTC)
            return moment.strftime("%Y-%m-%d %H:%M UTC")
    table = CODE_TABLES.get(key)
    if table is not None and str(value) in table:
        return _(table[str(value)])
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "、".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render_html(
    records: list[dict], *, request_id: int, when: str, locale: str, _: Translate
) -> str:
    """The copy as escaped HTML (records as built by db.privacy.privacy_bundle)."""
    return _COMPILED.render(
        records=records,
        request_id=request_id,
        when=when,
        lang="zh-CN" if locale == "zh_CN" else "en",
        font_stack=FONT_STACK,
        sections=SECTIONS,
        label=lambda k: _(FIELD_LABELS.get(k, k)),
        show=lambda key, value: _show(key, value, _),
        _=_,
    )


def render_copy_pdf(
    records: list[dict], *, request_id: int, when: str, locale: str, _: Translate
) -> bytes:
    """The copy as A4 PDF bytes (CPU-bound: call it in a worker thread)."""
    html = render_html(records, request_id=request_id, when=when, locale=locale, _=_)
    return write_pdf(html)
