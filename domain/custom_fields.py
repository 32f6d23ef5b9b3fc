"""Admin-defined customer fields: checking a definition, and when a required one is asked for."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from enum import StrEnum

from domain.customers import CustomFieldDef, CustomFieldKind

MSG_KEY = "Use lowercase letters, digits and _ only, starting with a letter (at most 40)."
MSG_KEY_TAKEN = "This key is already used by another field."
MSG_LABEL_EN = "Enter the English label."
MSG_LABEL_ZH = "Enter the Chinese label."
MSG_LABEL_TOO_LONG = "Use at most 100 characters."
MSG_KIND = "Choose what the field holds."
MSG_CHOICES = "Enter at least one choice, one per line."
MSG_TOO_MANY_CHOICES = "Use at most 50 choices."
MSG_REQUIRED_SINCE = (
    "Required since this customer was saved: fill it in to save this edit. "
    "Visits, stage moves and follow-ups do not need it."
)

MESSAGES: tuple[str, ...] = (
    MSG_KEY,
    MSG_KEY_TAKEN,
    MSG_LABEL_EN,
    MSG_LABEL_ZH,
    MSG_LABEL_TOO_LONG,
    MSG_KIND,
    MSG_CHOICES,
    MSG_TOO_MANY_CHOICES,
    MSG_REQUIRED_SINCE,
)

_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_CHOICES = 50
MAX_CHOICE_LENGTH = 100


def parse_choices(text: str) -> tuple[str, ...]:
    """Split typed choices (one per line, or separated by commas) and drop repeats."""
    seen: set[str] = set()
    choices: list[str] = []
    for part in re.split(r"[\n,，]+", text or ""):
        choice = part.strip()[:MAX_CHOICE_LENGTH]
        if choice and choice.casefold() not in seen:
            seen.add(choice.casefold())
            choices.append(choice)
    return tuple(choices)


def validate_custom_field(
    data: Mapping[str, str], *, key_fixed: str | None = None
) -> tuple[CustomFieldDef | None, dict[str, str]]:
    """Check a custom field definition form; the key cannot change once a field exists."""
    errors: dict[str, str] = {}
    key = key_fixed if key_fixed is not None else str(data.get("key") or "").strip().lower()
    if not _KEY_RE.fullmatch(key):
        errors["key"] = MSG_KEY
    labels = {}
    for name, missing in (("label_en", MSG_LABEL_EN), ("label_zh", MSG_LABEL_ZH)):
        label = " ".join(str(data.get(name) or "").split())
        if not label:
            errors[name] = missing
        elif len(label) > 100:
            errors[name] = MSG_LABEL_TOO_LONG
        labels[name] = label
    kind = next((k for k in CustomFieldKind if k.value == str(data.get("kind") or "")), None)
    if kind is None:
        errors["kind"] = MSG_KIND
    choices = parse_choices(str(data.get("choices") or ""))
    if kind == CustomFieldKind.CHOICE and not choices:
        errors["choices"] = MSG_CHOICES
    elif len(choices) > MAX_CHOICES:
        errors["choices"] = MSG_TOO_MANY_CHOICES
    if errors or kind is None:
        return None, errors
    required = str(data.get("required") or "") in ("1", "on", "true", "yes")
    definition = CustomFieldDef(
        key=key,
        label_en=labels["label_en"],
        label_zh=labels["label_zh"],
        kind=kind,
        required=required,
        choices=choices if kind == CustomFieldKind.CHOICE else (),
    )
    return definition, {}


# --- rolling a required field out ---------------------------------------------------------


class FormScope(StrEnum):
    """How much of a customer a form saves, which decides whether required fields are asked."""

    # The new customer form, the counter's quick add and the full edit: every field is there,
    # so a required custom field must be filled.
    FULL = "full"
    # A change of one thing (a quick edit of one field, a stage move, a visit): a required
    # field an admin added later must not block it; the next full edit asks for it.
    PARTIAL = "partial"


def fields_for(definitions: Iterable[CustomFieldDef], scope: FormScope) -> list[CustomFieldDef]:
    """The definitions a form of `scope` validates with (required only for a full form)."""
    if scope == FormScope.FULL:
        return list(definitions)
    return [replace(d, required=False) if d.required else d for d in definitions]


def is_missing(value: object) -> bool:
    """Whether a stored custom value counts as not filled in."""
    return value is None or (isinstance(value, str) and not value.strip())


def missing_required(
    definitions: Iterable[CustomFieldDef], custom: Mapping[str, object] | None
) -> list[CustomFieldDef]:
    """The required fields a stored customer has no value for (added or made required later)."""
    values = custom or {}
    return [d for d in definitions if d.required and is_missing(values.get(d.key))]
