"""Customer rules: numbers, form validation, custom fields, completeness, edit conflicts."""

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, TypeVar

from domain.enums import Kind, Level, LossReason, Source, Stage, Status
from domain.money import MSG_MONEY_TOO_LARGE, MoneyError, money_parse
from domain.names import name_key, pinyin_forms
from domain.phones import PhoneError, last4, normalise_phone
from domain.text import clean_name

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

# --- Messages: constant English sentences, used as gettext msgids by the web layer. ---

MSG_NAME_REQUIRED = "Enter a name."
MSG_KIND = "Choose company or person."
MSG_LEVEL = "Choose a level."
MSG_SOURCE = "Choose a source."
MSG_STATUS = "Choose a status."
MSG_STAGE = "Choose a stage."
MSG_LOSS_REASON = "Choose a reason the customer was lost."
MSG_EMAIL = "Enter a valid email address."
MSG_AMOUNT = "Enter an amount in yuan, e.g. 12000 or 12000.50."
MSG_AMOUNT_TOO_LARGE = "Enter a smaller amount."
MSG_LAT = "Enter a latitude between -90 and 90."
MSG_LNG = "Enter a longitude between -180 and 180."
MSG_LOCATION_PAIR = "Enter both latitude and longitude, or neither."
MSG_TOO_MANY_TAGS = "Use at most 10 tags."
MSG_TAG_TOO_LONG = "Keep each tag to 20 characters or fewer."
MSG_REQUIRED = "Fill in this field."
MSG_NUMBER = "Enter a number, e.g. 12 or 3.5."
MSG_DATE = "Enter a date as YYYY-MM-DD."
MSG_CHOICE = "Choose one of the options."

# One message per length limit, because a msgid cannot carry the number.
_TOO_LONG: dict[int, str] = {
    100: "Use at most 100 characters.",
    200: "Use at most 200 characters.",
    300: "Use at most 300 characters.",
    500: "Use at most 500 characters.",
    5000: "Use at most 5000 characters.",
}

# Longest text accepted per form field; they fit the database columns.
MAX_LENGTHS: dict[str, int] = {
    "name": 200,
    "contact_name": 100,
    "email": 200,
    "industry": 100,
    "address": 300,
    "needs": 5000,
}
CUSTOM_TEXT_MAX = 500
MAX_TAGS = 10
MAX_TAG_LENGTH = 20

MESSAGES: tuple[str, ...] = (
    MSG_NAME_REQUIRED,
    MSG_KIND,
    MSG_LEVEL,
    MSG_SOURCE,
    MSG_STATUS,
    MSG_STAGE,
    MSG_LOSS_REASON,
    MSG_EMAIL,
    MSG_AMOUNT,
    MSG_AMOUNT_TOO_LARGE,
    MSG_LAT,
    MSG_LNG,
    MSG_LOCATION_PAIR,
    MSG_TOO_MANY_TAGS,
    MSG_TAG_TOO_LONG,
    MSG_REQUIRED,
    MSG_NUMBER,
    MSG_DATE,
    MSG_CHOICE,
    *_TOO_LONG.values(),
)


class FieldError(ValueError):
    """A value that cannot be accepted; `message` is an English msgid for the user."""

    def __init__(self, message: str) -> None:
        """Keep the user-facing message next to the exception."""
        super().__init__(message)
        self.message = message


def _nfkc(text: str | None) -> str:
    """Fold full-width letters, digits and punctuation to ASCII and trim the ends."""
    return unicodedata.normalize("NFKC", text or "").strip()


def _limit(text: str, max_length: int) -> str:
    """Return text unchanged when short enough, else raise the matching FieldError."""
    if len(text) > max_length:
        raise FieldError(_TOO_LONG[max_length])
    return text


# --- Customer numbers ---------------------------------------------------------------

_NUMBER_RE = re.compile(r"C(\d{4})(\d{2})(\d{3,})", re.ASCII)


class CustomerNumber(NamedTuple):
    """The parts of a customer number such as C202611001."""

    year: int
    month: int
    seq: int

    @property
    def text(self) -> str:
        """Return the number as shown and stored."""
        return customer_number(self.year, self.month, self.seq)


def customer_number(year: int, month: int, seq: int) -> str:
    """Return the customer number for a month's sequence: (2026, 11, 1) → "C202611001"."""
    if not (1000 <= year <= 9999 and 1 <= month <= 12 and seq >= 1):
        raise ValueError(f"no customer number for {year}-{month} #{seq}")
    return f"C{year:04d}{month:02d}{seq:03d}"


def parse_customer_number(q: str) -> CustomerNumber | None:
    """Return the parts of a complete customer number typed in any case or width, else None."""
    match = _NUMBER_RE.fullmatch(_nfkc(q).upper())
    if not match:
        return None
    year, month, seq_text = match.groups()
    # A sequence is zero-padded to 3 digits only; "0001" would be a second spelling.
    if len(seq_text) > 3 and seq_text.startswith("0"):
        return None
    parsed = CustomerNumber(int(year), int(month), int(seq_text))
    if not (1 <= parsed.month <= 12 and parsed.seq >= 1):
        return None
    return parsed


# --- Custom fields ------------------------------------------------------------------


class CustomFieldKind(StrEnum):
    """What an admin-defined field holds."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class CustomFieldDef:
    """An admin-defined customer field; its form input is named "custom_<key>"."""

    key: str
    label_en: str
    label_zh: str
    kind: CustomFieldKind = CustomFieldKind.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse definitions the form could not render or validate."""
        object.__setattr__(self, "kind", CustomFieldKind(self.kind))
        object.__setattr__(self, "choices", tuple(self.choices))
        if not _KEY_RE.fullmatch(self.key):
            raise ValueError(f"custom field key must be a lowercase identifier: {self.key!r}")
        if self.kind == CustomFieldKind.CHOICE and not self.choices:
            raise ValueError(f"choice field {self.key!r} needs choices")

    @property
    def input_name(self) -> str:
        """Return the form input name, which is also the error key."""
        return f"custom_{self.key}"


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", re.ASCII)
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_GROUPED_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)


def _ungroup(text: str) -> str | None:
    """Drop thousands separators and spaces; None when commas are not thousands groups.

    A strict grouping check keeps "12,5" from being read as 125.
    """
    text = re.sub(r"\s+", "", text)
    if "," not in text:
        return text
    return text.replace(",", "") if _GROUPED_RE.fullmatch(text) else None


def parse_number(text: str) -> str:
    """Return a typed number as a plain decimal string ("1,200.50" → "1200.5")."""
    plain = _ungroup(_nfkc(text))
    if plain is None or not _PLAIN_NUMBER_RE.fullmatch(plain):
        raise FieldError(MSG_NUMBER)
    value = Decimal(plain)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def parse_date(text: str) -> str:
    """Return a typed date as ISO "YYYY-MM-DD"; accepts -, /, . and 年月日 separators."""
    match = _DATE_RE.fullmatch(_nfkc(text))
    if not match:
        raise FieldError(MSG_DATE)
    try:
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError as exc:
        raise FieldError(MSG_DATE) from exc


def parse_choice(text: str, choices: Iterable[str]) -> str:
    """Return the defined choice a typed value names, ignoring case and width."""
    wanted = _nfkc(text).casefold()
    for choice in choices:
        if _nfkc(choice).casefold() == wanted:
            return choice
    raise FieldError(MSG_CHOICE)


def parse_custom_value(definition: CustomFieldDef, raw: str | None) -> str | None:
    """Return a custom field's normalised value, None when left empty, or raise FieldError."""
    text = (raw or "").strip()
    if not text:
        if definition.required:
            raise FieldError(MSG_REQUIRED)
        return None
    match definition.kind:
        case CustomFieldKind.NUMBER:
            return parse_number(text)
        case CustomFieldKind.DATE:
            return parse_date(text)
        case CustomFieldKind.CHOICE:
            return parse_choice(text, definition.choices)
    return _limit(text, CUSTOM_TEXT_MAX)


# --- Value parsers ------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*\.[^@\s.]{2,}")
# Commas of either width (NFKC folds "，" and "；"), 、 and whitespace separate tags.
_TAG_SPLIT_RE = re.compile(r"[,、;\s]+")


def parse_amount_cents(text: str | None) -> int | None:
    """Return an amount typed in yuan as integer cents, None when empty (the money rule).

    Accepts "12000", "12,000.50", "¥12000", "￥12000", "12000元" and "1.2万".
    Negative amounts and fractions of a cent are refused.
    """
    try:
        return money_parse(text)
    except MoneyError as exc:
        too_large = exc.message == MSG_MONEY_TOO_LARGE
        raise FieldError(MSG_AMOUNT_TOO_LARGE if too_large else MSG_AMOUNT) from None


def parse_email(text: str | None) -> str:
    """Return a typed email address trimmed and width-folded, "" when empty."""
    email = _nfkc(text)
    if not email:
        return ""
    if not _EMAIL_RE.fullmatch(email):
        raise FieldError(MSG_EMAIL)
    return _limit(email, MAX_LENGTHS["email"])


def parse_tags(text: str | None) -> list[str]:
    """Return the tags in a typed list: split, trimmed, "#" dropped, deduplicated, in order."""
    tags: list[str] = []
    seen: set[str] = set()
    for part in _TAG_SPLIT_RE.split(_nfkc(text)):
        tag = part.strip().lstrip("#")
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise FieldError(MSG_TOO_MANY_TAGS)
    if any(len(tag) > MAX_TAG_LENGTH for tag in tags):
        raise FieldError(MSG_TAG_TOO_LONG)
    return tags


def _parse_coordinate(text: str, limit: float, message: str) -> float | None:
    """Return a latitude or longitude within ±limit, None when empty."""
    folded = _nfkc(text)
    if not folded:
        return None
    try:
        value = float(folded)
    except ValueError as exc:
        raise FieldError(message) from exc
    if not math.isfinite(value) or abs(value) > limit:
        raise FieldError(message)
    return value


def _parse_choice_enum(enum: type[E], raw: str, default: E | None, msg: str) -> E:
    """Return the enum member a form value names (any case), the default when empty."""
    text = _nfkc(raw)
    if not text and default is not None:
        return default
    for member in enum:
        if member.value.casefold() == text.casefold():
            return member
    raise FieldError(msg)


# --- The customer form --------------------------------------------------------------


@dataclass
class CustomerInput:
    """A validated customer form: canonical values ready to store.

    Optional text fields are "" when empty (as in the database); `custom` holds only
    the custom fields that were filled in, by key.
    """

    name: str
    kind: Kind
    phone: str
    level: Level
    source: Source
    contact_name: str = ""
    email: str = ""
    industry: str = ""
    needs: str = ""
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    expected_amount_cents: int | None = None
    status: Status = Status.POTENTIAL
    loss_reason: LossReason | None = None
    stage: Stage = Stage.LEAD
    tags: list[str] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)


def derived_fields(name: str, phone: str) -> dict[str, str]:
    """Return the stored search/dedupe columns computed from a name and canonical phone."""
    full, initials = pinyin_forms(name)
    return {
        "name_key": name_key(name),
        "name_pinyin": full,
        "name_initials": initials,
        "phone_last4": last4(phone),
    }


class _Form:
    """Collects parsed values and field errors while a form is checked."""

    def __init__(self, data: Mapping[str, str]) -> None:
        """Start with the submitted values and no errors."""
        self.data = data
        self.errors: dict[str, str] = {}

    def raw(self, key: str) -> str:
        """Return a submitted value as a string ("" when absent)."""
        value = self.data.get(key)
        return "" if value is None else str(value)

    def check(self, key: str, parse: Callable[[str], T]) -> T | None:
        """Run a parser on a field; record its error and return None when it fails."""
        try:
            return parse(self.raw(key))
        except (FieldError, PhoneError) as exc:
            self.errors[key] = exc.message
        return None


def _text(key: str) -> Callable[[str], str]:
    """Return a parser for an optional free-text field: trimmed, length capped."""

    def parse(raw: str) -> str:
        return _limit(raw.strip(), MAX_LENGTHS[key])

    return parse


def _name(raw: str) -> str:
    """Return a customer name with surrounding and repeated whitespace removed."""
    name = clean_name(raw)
    if not name:
        raise FieldError(MSG_NAME_REQUIRED)
    return _limit(name, MAX_LENGTHS["name"])


def _phone(raw: str) -> str:
    """Return the canonical phone number or raise PhoneError."""
    return normalise_phone(raw)


def validate_customer(
    data: Mapping[str, str], custom_fields: Iterable[CustomFieldDef] = ()
) -> tuple[CustomerInput | None, dict[str, str]]:
    """Check a submitted customer form.

    Returns (CustomerInput, {}) when valid, else (None, {field: English message}).
    Keys are the form's input names: name, kind, phone, level, source, contact_name,
    email, industry, needs, address, lat, lng, expected_amount, status, loss_reason,
    stage, tags and custom_<key>.
    """
    form = _Form(data)
    name = form.check("name", _name)
    kind = form.check("kind", lambda v: _parse_choice_enum(Kind, v, Kind.COMPANY, MSG_KIND))
    phone = form.check("phone", _phone)
    level = form.check("level", lambda v: _parse_choice_enum(Level, v, None, MSG_LEVEL))
    source = form.check("source", lambda v: _parse_choice_enum(Source, v, None, MSG_SOURCE))
    texts = {k: form.check(k, _text(k)) for k in ("contact_name", "industry", "needs", "address")}
    email = form.check("email", parse_email)
    lat, lng = _location(form)
    amount = form.check("expected_amount", parse_amount_cents)
    status = form.check(
        "status", lambda v: _parse_choice_enum(Status, v, Status.POTENTIAL, MSG_STATUS)
    )
    loss_reason = _loss_reason(form, status)
    stage = form.check("stage", lambda v: _parse_choice_enum(Stage, v, Stage.LEAD, MSG_STAGE))
    tags = form.check("tags", parse_tags)
    custom = _custom(form, custom_fields)
    if form.errors:
        return None, form.errors
    return (
        CustomerInput(
            name=name,
            kind=kind,
            phone=phone,
            level=level,
            source=source,
            contact_name=texts["contact_name"],
            email=email,
            industry=texts["industry"],
            needs=texts["needs"],
            address=texts["address"],
            lat=lat,
            lng=lng,
            expected_amount_cents=amount,
            status=status,
            loss_reason=loss_reason,
            stage=stage,
            tags=tags,
            custom=custom,
        ),
        {},
    )


def _location(form: _Form) -> tuple[float | None, float | None]:
    """Parse lat/lng; a location needs both, so one without the other is an error."""
    lat = form.check("lat", lambda v: _parse_coordinate(v, 90, MSG_LAT))
    lng = form.check("lng", lambda v: _parse_coordinate(v, 180, MSG_LNG))
    if "lat" in form.errors or "lng" in form.errors:
        return None, None
    if (lat is None) != (lng is None):
        form.errors["lng" if lng is None else "lat"] = MSG_LOCATION_PAIR
        return None, None
    return lat, lng


def _loss_reason(form: _Form, status: Status | None) -> LossReason | None:
    """Return the loss reason for a lost customer; any other status clears it."""
    if status != Status.LOST:
        return None
    return form.check(
        "loss_reason", lambda v: _parse_choice_enum(LossReason, v, None, MSG_LOSS_REASON)
    )


def _custom(form: _Form, definitions: Iterable[CustomFieldDef]) -> dict[str, str]:
    """Parse every defined custom field; keep the filled ones by key."""
    values: dict[str, str] = {}
    for definition in definitions:
        value = form.check(definition.input_name, lambda v, d=definition: parse_custom_value(d, v))
        if value is not None:
            values[definition.key] = value
    return values


# --- Completeness -------------------------------------------------------------------

# The fields a good customer record has beyond the required ones. "location" stands for
# lat and lng together.
RECOMMENDED_FIELDS: tuple[str, ...] = (
    "contact_name",
    "email",
    "industry",
    "needs",
    "address",
    "location",
    "expected_amount_cents",
    "tags",
    "next_follow_up_on",
)


def _is_filled(value: object) -> bool:
    """Return whether a stored value counts as filled in (0 counts, "" and [] do not)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | set | frozenset | dict):
        return bool(value)
    return True


def _field_filled(fields: Mapping[str, object], name: str) -> bool:
    """Return whether one recommended field is filled; location needs lat and lng."""
    if name == "location":
        return fields.get("lat") is not None and fields.get("lng") is not None
    return _is_filled(fields.get(name))


def missing_recommended(fields: Mapping[str, object]) -> tuple[str, ...]:
    """Return the recommended fields that are still empty, in RECOMMENDED_FIELDS order."""
    return tuple(name for name in RECOMMENDED_FIELDS if not _field_filled(fields, name))


def completeness(fields: Mapping[str, object]) -> float:
    """Return the share (0..1) of RECOMMENDED_FIELDS a customer has filled in."""
    missing = len(missing_recommended(fields))
    return (len(RECOMMENDED_FIELDS) - missing) / len(RECOMMENDED_FIELDS)


# --- Concurrent edits ---------------------------------------------------------------


def _comparable(value: object) -> object:
    """Treat None and "" alike and sequences by content, so form and stored values compare."""
    if value is None or value == "":
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def _same(a: object, b: object) -> bool:
    """Return whether two field values mean the same."""
    return _comparable(a) == _comparable(b)


def changed_fields(original: Mapping[str, object], submitted: Mapping[str, object]) -> dict:
    """Return the submitted fields whose value differs from what the user loaded."""
    return {k: v for k, v in submitted.items() if not _same(v, original.get(k))}


def detect_conflicts(
    original: Mapping[str, object],
    submitted: Mapping[str, object],
    current: Mapping[str, object],
) -> dict[str, tuple[object, object]]:
    """Return {field: (yours, theirs)} for edits that collide with someone else's save.

    `original` is the record as the user loaded it, `submitted` what they saved, and
    `current` what is stored now. A field conflicts when both sides changed it to
    different values; a field only the other person changed is not a conflict (keep
    theirs), nor is one both changed to the same value. Compare like with like: pass
    validated values (e.g. a CustomerInput as a dict), not raw form strings.
    """
    conflicts: dict[str, tuple[object, object]] = {}
    for key, yours in changed_fields(original, submitted).items():
        theirs = current.get(key)
        if not _same(theirs, original.get(key)) and not _same(yours, theirs):
            conflicts[key] = (yours, theirs)
    return conflicts
