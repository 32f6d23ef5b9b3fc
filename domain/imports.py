"""Import rules: guess columns from headers, detect damaged numbers, give each row a verdict.

A row is checked by the same rules as the New customer form (domain.customers), and a
duplicate is found by the same rule as the form's warning: the normalised phone or the
normalised name (domain.names.name_key).
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from domain.contacts import ContactInput, ContactRole, validate_contact
from domain.customers import CustomerInput, CustomFieldDef, validate_customer
from domain.enums import Kind, Level, LossReason, Source, Stage, Status
from domain.names import name_key

MSG_DAMAGED_NUMBER = (
    "The phone number was stored as a number and lost digits (e.g. 1.39123E+10); "
    "format the column as text and export again."
)
MSG_UNKNOWN_LEVEL = "Unknown level: use A, B or C."
MSG_UNKNOWN_SOURCE = "Unknown source."
MSG_OWNER_NOT_FOUND = "No user has this owner name."
MSG_OWNER_AMBIGUOUS = "Several users have this owner name."
MSG_NO_NAME_COLUMN = "No column is mapped to the customer name."
MSG_UNKNOWN_CONTACT_ROLE = "Unknown contact role."
MESSAGES = (
    MSG_DAMAGED_NUMBER,
    MSG_UNKNOWN_LEVEL,
    MSG_UNKNOWN_SOURCE,
    MSG_OWNER_NOT_FOUND,
    MSG_OWNER_AMBIGUOUS,
    MSG_NO_NAME_COLUMN,
    MSG_UNKNOWN_CONTACT_ROLE,
)

DEFAULT_UPLOAD_MB = 20  # the upload size limit until an admin sets another
MAX_UPLOAD_MB = 100  # the largest limit an admin may set (the server reads a file whole)


def upload_limit_parse(raw: str) -> int | None:
    """The admin's upload size limit: a whole number of MB from 1 to MAX_UPLOAD_MB, or None."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value.isdecimal() or len(value) > 4 or not 1 <= int(value) <= MAX_UPLOAD_MB:
        return None
    return int(value)


# The Kehu fields a column can fill ("" ignores the column); custom fields are custom_<key>.
TARGETS = (
    "name",
    "phone",
    "contact_name",
    "level",
    "source",
    "owner",
    "industry",
    "address",
    "needs",
    "email",
    "tags",
    "contact_phone",
    "contact_email",
    "contact_role",
    "contact_title",
)
# The columns that describe the row's contact person (a Contact of the customer). The
# contact's name is contact_name, which also fills the customer's main contact field.
CONTACT_TARGETS = ("contact_name", "contact_phone", "contact_email", "contact_role",
                   "contact_title")  # fmt: skip
# Header texts (compared by header_key) that name each field, in Chinese and English.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("客户名称", "公司名称", "客户名", "客户", "名称", "公司", "单位名称", "name",
             "customer", "customername", "company", "companyname"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "phone", "mobile",
              "tel", "telephone", "phonenumber"),
    "contact_name": ("联系人", "联系人姓名", "contact", "contactname", "contactperson"),
    "level": ("级别", "客户级别", "等级", "level", "grade"),
    "source": ("来源", "客户来源", "source", "leadsource"),
    "owner": ("负责人", "销售", "业务员", "归属", "owner", "salesrep", "rep"),
    "industry": ("行业", "所属行业", "industry"),
    "address": ("地址", "公司地址", "详细地址", "address"),
    "needs": ("备注", "需求", "说明", "notes", "note", "needs", "remarks", "comment"),
    "email": ("邮箱", "电子邮箱", "email", "e-mail", "mail"),
    "tags": ("标签", "tags", "tag"),
    "contact_phone": ("联系人电话", "联系人手机", "联系人手机号", "联系人手机号码",
                      "联系人联系电话", "contactphone", "contactmobile", "contacttel"),
    "contact_email": ("联系人邮箱", "联系人电子邮箱", "contactemail", "contactmail"),
    "contact_role": ("联系人角色", "决策角色", "角色", "contactrole", "role", "decisionrole"),
    "contact_title": ("职务", "职位", "联系人职务", "联系人职位", "title", "jobtitle",
                      "position", "contacttitle"),
}  # fmt: skip

# "公司名称（必填）", "Phone [mobile]": a remark in brackets does not change the field.
_HEADER_REMARK = re.compile(r"[(\[【].*?[)\]】]")
_HEADER_NOISE = re.compile(r"[\s*:：()（）\[\]【】_\-]+")
# A number a spreadsheet wrote in scientific notation: its last digits are gone.
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_LEVEL_SUFFIX = re.compile(r"(级|类|类客户|级客户)$")


class Verdict(StrEnum):
    """What importing a row would do."""

    NEW = "new"
    DUPLICATE = "duplicate"  # of a customer already in Kehu
    DUPLICATE_IN_FILE = "duplicate_in_file"  # of an earlier row of the same file
    ERROR = "error"


class DuplicateMode(StrEnum):
    """What an import does with a row that duplicates an existing customer."""

    SKIP = "skip"
    FILL_EMPTY = "fill_empty"
    OVERWRITE = "overwrite"


def header_key(text: object) -> str:
    """A header compared loosely: width-folded, lower case, without spaces and punctuation."""
    folded = unicodedata.normalize("NFKC", "" if text is None else str(text)).casefold()
    return _HEADER_NOISE.sub("", _HEADER_REMARK.sub("", folded))


def guess_mapping(headers: Sequence[object], custom_labels: Mapping[str, str] = {}) -> list[str]:
    """The field each column fills, guessed from its header ("" when none; each field once).

    `custom_labels` maps a custom field's labels (both languages) to its input name.
    """
    lookup = {header_key(a): t for t, aliases in ALIASES.items() for a in aliases}
    lookup |= {header_key(label): name for label, name in custom_labels.items()}
    used: set[str] = set()
    guessed = []
    for header in headers:
        target = lookup.get(header_key(header), "")
        if target in used:
            target = ""
        used.add(target)
        guessed.append(target)
    return guessed


def headers_signature(headers: Sequence[object]) -> str:
    """The key a saved mapping is offered again under: the file's headers, loosely compared."""
    return "|".join(header_key(h) for h in headers)


def is_damaged_number(text: str) -> bool:
    """True when a cell holds a number in scientific notation (a phone that lost digits)."""
    return bool(_SCIENTIFIC.fullmatch(text.strip()))


def parse_level(text: str) -> str | None:
    """A level code from "A", "a级", "B类" …; "" stays "" (the form's default); None if unknown."""
    value = _LEVEL_SUFFIX.sub("", unicodedata.normalize("NFKC", text).strip()).upper()
    if not value:
        return ""
    return value if value in set(Level) else None


def parse_source(text: str, names: Mapping[str, str]) -> str | None:
    """A source code from its code or a display name (`names`: name -> code); None if unknown."""
    value = text.strip()
    if not value:
        return Source.OTHER.value
    if value in set(Source):
        return value
    return names.get(header_key(value))


def resolve_owner(text: str, owners: Mapping[str, Sequence[int]]) -> tuple[int | None, str]:
    """The owner's user id from their name (`owners`: name_key -> user ids), or a message."""
    name = text.strip()
    if not name:
        return None, ""
    ids = owners.get(name_key(name)) or owners.get(name) or ()
    if not ids:
        return None, MSG_OWNER_NOT_FOUND
    if len(ids) > 1:
        return None, MSG_OWNER_AMBIGUOUS
    return ids[0], ""


def parse_contact_role(text: str, names: Mapping[str, str]) -> str | None:
    """A contact role code from its code or display name (`names`: name -> code); None if
    unknown; empty is "other"."""
    value = text.strip()
    if not value:
        return ContactRole.OTHER.value
    if value.lower() in set(ContactRole):
        return value.lower()
    return names.get(header_key(value))


@dataclass
class RowCheck:
    """One row's verdict, what it would store, and why not (field -> English message)."""

    verdict: Verdict
    customer: CustomerInput | None = None
    owner_id: int | None = None
    duplicate_of: int | None = None  # an existing customer's id, or an earlier row's line
    errors: dict[str, str] = field(default_factory=dict)
    contact: ContactInput | None = None  # the row's contact person, when it names one


@dataclass
class Context:
    """What checking rows needs to know about Kehu: users, sources, customers, custom fields."""

    owners: Mapping[str, Sequence[int]] = field(default_factory=dict)
    source_names: Mapping[str, str] = field(default_factory=dict)
    role_names: Mapping[str, str] = field(default_factory=dict)
    custom_fields: Iterable[CustomFieldDef] = ()
    existing_phones: Mapping[str, int] = field(default_factory=dict)
    existing_names: Mapping[str, int] = field(default_factory=dict)
    # Filled while rows are checked in file order: phone / name key -> line first seen.
    seen_phones: dict[str, int] = field(default_factory=dict)
    seen_names: dict[str, int] = field(default_factory=dict)


def row_form(cells: Sequence[str], mapping: Sequence[str]) -> dict[str, str]:
    """The row as the entry form's fields (unmapped columns dropped)."""
    form: dict[str, str] = {}
    for target, value in zip(mapping, cells, strict=False):
        if target:
            form[target] = value
    return form


def check_row(line: int, cells: Sequence[str], mapping: Sequence[str], ctx: Context) -> RowCheck:
    """Give one row its verdict; rows must be checked in file order (in-file duplicates)."""
    form = row_form(cells, mapping)
    errors: dict[str, str] = {}
    if is_damaged_number(form.get("phone", "")):
        errors["phone"] = MSG_DAMAGED_NUMBER
    level = parse_level(form.get("level", ""))
    if level is None:
        errors["level"] = MSG_UNKNOWN_LEVEL
    source = parse_source(form.get("source", ""), ctx.source_names)
    if source is None:
        errors["source"] = MSG_UNKNOWN_SOURCE
    owner_id, owner_error = resolve_owner(form.get("owner", ""), ctx.owners)
    if owner_error:
        errors["owner"] = owner_error
    form["level"] = level or Level.C.value
    form["source"] = source or Source.OTHER.value
    contact = _row_contact(form, ctx, errors)
    customer, form_errors = validate_customer(form, ctx.custom_fields)
    errors = form_errors | errors
    if errors or customer is None:
        return RowCheck(Verdict.ERROR, errors=errors)
    key = name_key(customer.name)
    earlier = ctx.seen_phones.get(customer.phone) or (ctx.seen_names.get(key) if key else None)
    ctx.seen_phones.setdefault(customer.phone, line)
    if key:
        ctx.seen_names.setdefault(key, line)
    if earlier is not None:
        return RowCheck(Verdict.DUPLICATE_IN_FILE, customer, owner_id, earlier, contact=contact)
    existing = ctx.existing_phones.get(customer.phone) or (
        ctx.existing_names.get(key) if key else None
    )
    if existing is not None:
        return RowCheck(Verdict.DUPLICATE, customer, owner_id, existing, contact=contact)
    return RowCheck(Verdict.NEW, customer, owner_id, contact=contact)


def as_existing_duplicate(check: RowCheck, customer_id: int) -> RowCheck:
    """A new row's verdict once a customer already in Kehu turns out to have its phone or
    name (found in the database batch by batch instead of held in memory)."""
    return RowCheck(Verdict.DUPLICATE, check.customer, check.owner_id, customer_id,
                    contact=check.contact)  # fmt: skip


def duplicate_keys(check: RowCheck) -> tuple[str, str]:
    """The normalised phone and name key a row is compared with existing customers by."""
    if check.customer is None:
        return "", ""
    return check.customer.phone, name_key(check.customer.name)


# Raise when check_row's rules change: a preview's stored checks are then not reused.
CHECK_RULES_VERSION = 1


def context_digest(mapping: Sequence[str], ctx: Context) -> str:
    """A fingerprint of all a row's check depends on besides its cells and earlier rows.

    A preview stores it with each row's check; an import reuses the stored checks only
    while the digest is unchanged (no owner renamed, source or custom field changed...).
    """
    parts = (
        CHECK_RULES_VERSION,
        list(mapping),
        sorted((k, list(v)) for k, v in ctx.owners.items()),
        sorted(ctx.source_names.items()),
        sorted(ctx.role_names.items()),
        [repr(d) for d in ctx.custom_fields],
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def check_dump(check: RowCheck) -> dict:
    """A row's check (before existing customers are looked up) as JSON-ready values."""
    return {
        "v": check.verdict.value,
        "c": asdict(check.customer) if check.customer is not None else None,
        "o": check.owner_id,
        "d": check.duplicate_of,
        "e": check.errors,
        "p": asdict(check.contact) if check.contact is not None else None,
    }


def check_load(data: Mapping) -> RowCheck:
    """The RowCheck that check_dump stored, with its enums restored."""
    c, p = data.get("c"), data.get("p")
    customer = None
    if c is not None:
        customer = CustomerInput(**{
            **c, "kind": Kind(c["kind"]), "level": Level(c["level"]),
            "source": Source(c["source"]), "status": Status(c["status"]),
            "stage": Stage(c["stage"]),
            "loss_reason": LossReason(c["loss_reason"]) if c.get("loss_reason") else None,
        })  # fmt: skip
    contact = ContactInput(**{**p, "role": ContactRole(p["role"])}) if p is not None else None
    return RowCheck(Verdict(data["v"]), customer, data.get("o"), data.get("d"),
                    dict(data.get("e") or {}), contact)  # fmt: skip


def _row_contact(form: dict[str, str], ctx: Context, errors: dict[str, str]) -> ContactInput | None:
    """The row's contact person, checked by the contact form's rules (errors added in place).

    A row without any contact cell has none; a contact phone, email, role or title
    without the contact's name is an error on the name, as on the contact form.
    """
    if not any(form.get(t, "").strip() for t in CONTACT_TARGETS):
        return None
    role = parse_contact_role(form.get("contact_role", ""), ctx.role_names)
    if role is None:
        errors["contact_role"] = MSG_UNKNOWN_CONTACT_ROLE
        role = ContactRole.OTHER.value
    contact, contact_errors = validate_contact(
        {"name": form.get("contact_name", ""), "role": role,
         "phone": form.get("contact_phone", ""), "email": form.get("contact_email", ""),
         "note": form.get("contact_title", "")}
    )  # fmt: skip
    # The contact form's field names, as the import's column targets.
    for name, message in contact_errors.items():
        errors["contact_title" if name == "note" else f"contact_{name}"] = message
    return contact


@dataclass(frozen=True)
class ContactChange:
    """What a duplicate row does to the existing customer's contacts."""

    add: bool = False  # add the row's contact as a new one
    contact_id: int | None = None  # or change this existing contact
    changes: dict[str, str] = field(default_factory=dict)  # field -> new value


_CONTACT_FIELDS = ("phone", "email", "role", "note")


def contact_change(
    existing: Sequence[Mapping[str, object]], incoming: ContactInput, mode: "DuplicateMode"
) -> ContactChange:
    """How a duplicate row's contact lands on the customer's contacts (`existing`: their
    id, name, phone, email, role, note).

    "skip" changes nothing. Otherwise a contact is the same person when the name matches
    (loosely, as names are compared for duplicates) or, failing that, the phone does:
    "fill_empty" fills that contact's empty fields, "overwrite" replaces differing ones
    with the row's non-empty values (a role of "other" counts as empty). A person the
    customer does not have yet is added in both modes.
    """
    if mode == DuplicateMode.SKIP:
        return ContactChange()
    key = name_key(incoming.name)
    same = next((c for c in existing if name_key(str(c["name"])) == key), None)
    if same is None and incoming.phone:
        same = next((c for c in existing if c["phone"] == incoming.phone), None)
    if same is None:
        return ContactChange(add=True)
    changes: dict[str, str] = {}
    for name in _CONTACT_FIELDS:
        new = str(getattr(incoming, name))
        old = str(same[name] or "")
        if not new or (name == "role" and new == ContactRole.OTHER.value) or new == old:
            continue
        empty = not old or (name == "role" and old == ContactRole.OTHER.value)
        if mode == DuplicateMode.OVERWRITE or empty:
            changes[name] = new
    return ContactChange(contact_id=int(same["id"]), changes=changes)  # type: ignore[call-overload]


# Fields an import never changes on an existing customer: who they are and who owns them.
_KEPT_ON_UPDATE = frozenset({"name", "phone", "owner", "owner_id", "kind"})


def _empty(value: object) -> bool:
    """True for a value the customer page shows as not filled in."""
    return value is None or value == "" or value == [] or value == {}


def update_changes(
    current: Mapping[str, object],
    incoming: Mapping[str, object],
    mapped: Iterable[str],
    mode: DuplicateMode,
) -> dict[str, object]:
    """The fields a duplicate row changes on the existing customer (flat names).

    Only mapped, non-empty cells count; "fill_empty" fills fields that are empty now,
    "overwrite" replaces differing ones; "skip" changes nothing.
    """
    if mode == DuplicateMode.SKIP:
        return {}
    changes: dict[str, object] = {}
    for name in mapped:
        if not name or name in _KEPT_ON_UPDATE or name not in current:
            continue
        new = incoming.get(name)
        if _empty(new) or new == current[name]:
            continue
        if mode == DuplicateMode.OVERWRITE or _empty(current[name]):
            changes[name] = new
    return changes


UNDO_DAYS = 7
MSG_UNDO_EXPIRED = "An import can be undone for 7 days only."
MSG_UNDO_VISITED = "Customers this import created have visits since; undo would delete them."
MSG_OTHER_TEAM = "This customer belongs to another team; it was left unchanged."
MESSAGES = (*MESSAGES, MSG_UNDO_EXPIRED, MSG_UNDO_VISITED, MSG_OTHER_TEAM)
