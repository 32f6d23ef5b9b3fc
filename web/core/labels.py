"""The web's labels: form field names, and the translated display names of codes.

The code tables themselves live in domain.labels (shared with the PDF); this module
translates them. Templates receive it as `labels` and domain.labels as the global `tables`
(e.g. `labels.stage(c.stage)`, `labels.options(tables.LEVELS)`).
"""

from collections.abc import Iterable

from domain import labels as tables
from domain.customers import CustomFieldDef
from domain.phones import format_phone_display
from web.core.i18n import N_, current_locale, fmt_money, gettext

# Form field labels by input name. A msgid written "context|Text" is shown as "Text" in
# English and translated on its own: "form|Level" is 客户级别 on the form (PRODUCT.md §9)
# while a plain "Level" elsewhere (the weekly report's column) may read 级别.
FIELDS: dict[str, str] = {
    "name": N_("Name"),
    "kind": N_("Customer type"),
    "phone": N_("Phone"),
    "level": N_("form|Level"),
    "source": N_("Source"),
    "owner_id": N_("Owner"),
    "team_id": N_("Team"),
    "contact_name": N_("Main contact"),
    "email": N_("form|Email"),
    "industry": N_("Industry"),
    "needs": N_("Needs"),
    "address": N_("Address"),
    "lat": N_("Latitude"),
    "lng": N_("Longitude"),
    "expected_amount": N_("Expected deal amount (yuan)"),
    "expected_amount_cents": N_("Expected deal amount (yuan)"),
    "status": N_("Status"),
    "loss_reason": N_("Loss reason"),
    "stage": N_("Stage"),
    "tags": N_("Tags"),
    "note": N_("Note"),
    "role": N_("Decision role"),
    "location": N_("Location"),
    "next_follow_up_on": N_("Next follow-up"),
}


def _t(msgid: str) -> str:
    """Translate a msgid; an untranslated "context|Text" shows as "Text"."""
    text = gettext(msgid)
    if text == msgid and "|" in msgid:
        return msgid.split("|", 1)[1]
    return text


def _pick(table: dict[str, str], value: object) -> str:
    """Translate a code's display name; unknown codes are shown as they are."""
    if value is None or value == "":
        return ""
    msgid = table.get(str(value))
    return _t(msgid) if msgid else str(value)


def level(value: object) -> str:
    """Return a level's long name ("A (high intent)")."""
    return _pick(tables.LEVELS, value)


def level_badge(value: object) -> str:
    """Return a level's short badge text ("Level A" / "A级")."""
    return gettext("Level %(level)s", level=value) if value else ""


def stage(value: object) -> str:
    """Return a stage's display name."""
    return _pick(tables.STAGES, value)


def status(value: object) -> str:
    """Return a status's display name."""
    return _pick(tables.STATUSES, value)


def source(value: object) -> str:
    """Return a source's display name."""
    return _pick(tables.SOURCES, value)


def loss_reason(value: object) -> str:
    """Return a loss reason's display name."""
    return _pick(tables.LOSS_REASONS, value)


def kind(value: object) -> str:
    """Return company / person."""
    return _pick(tables.KINDS, value)


def contact_role(value: object) -> str:
    """Return a contact's role in the decision chain."""
    return _pick(tables.CONTACT_ROLES, value)


def custom_kind(value: object) -> str:
    """Return what kind of value a custom field holds."""
    return _pick(tables.CUSTOM_KINDS, value)


def field(name: str, definitions: Iterable[CustomFieldDef] = ()) -> str:
    """Return the label of a form field, custom fields included."""
    if name.startswith("custom_"):
        for d in definitions:
            if d.input_name == name:
                return custom_label(d)
    msgid = FIELDS.get(name)
    return _t(msgid) if msgid else name


def custom_label(definition: CustomFieldDef) -> str:
    """Return a custom field's label in the current language."""
    if current_locale() == "zh_CN":
        return definition.label_zh or definition.label_en
    return definition.label_en or definition.label_zh


def phone(value: str | None) -> str:
    """Return a stored phone number grouped for reading."""
    return format_phone_display(value or "")


def join(items: Iterable[str]) -> str:
    """Join names into a list the way the language writes one (、 in Chinese)."""
    return ("、" if current_locale() == "zh_CN" else ", ").join(items)


def choice_options(definition: CustomFieldDef) -> list[tuple[str, str]]:
    """Return a choice field's options for a select (stored as typed by the admin)."""
    return [(choice, choice) for choice in definition.choices]


def options(table: dict[str, str]) -> list[tuple[str, str]]:
    """Return (code, translated name) pairs for a select."""
    return [(str(code), _t(msgid)) for code, msgid in table.items()]


def value(name: str, raw: object, owners: dict[int, str] | None = None) -> str:
    """Return a stored field value as a person reads it (for the edit-conflict notice)."""
    if raw is None or raw == "" or raw == []:
        return "—"
    match name:
        case "level":
            return level(raw)
        case "stage":
            return stage(raw)
        case "status":
            return status(raw)
        case "source":
            return source(raw)
        case "loss_reason":
            return loss_reason(raw)
        case "kind":
            return kind(raw)
        case "expected_amount_cents":
            return fmt_money(int(raw))  # type: ignore[arg-type]
        case "tags":
            return ", ".join(str(t) for t in raw)  # type: ignore[union-attr]
        case "owner_id":
            return (owners or {}).get(int(raw), str(raw))  # type: ignore[arg-type]
    return str(raw)


MESSAGES: tuple[str, ...] = (
    N_("Level %(level)s"),
    # Messages of the domain modules this feature added (shown through gettext).
    N_("Enter the contact's name."),
    N_("Choose the contact's role."),
    N_("Use at most 100 characters."),
    N_("Use at most 500 characters."),
    N_("Use lowercase letters, digits and _ only, starting with a letter (at most 40)."),
    N_("This key is already used by another field."),
    N_("Enter the English label."),
    N_("Enter the Chinese label."),
    N_("Choose what the field holds."),
    N_("Enter at least one choice, one per line."),
    N_("Use at most 50 choices."),
)
