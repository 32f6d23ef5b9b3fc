"""Contacts: the people at a customer, their role in the decision chain, form validation."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.customers import FieldError, parse_email
from domain.phones import PhoneError, normalise_phone
from domain.text import clean_name, name_too_long

MSG_CONTACT_NAME = "Enter the contact's name."
MSG_CONTACT_ROLE = "Choose the contact's role."
MSG_NAME_TOO_LONG = "Use at most 100 characters."
MSG_NOTE_TOO_LONG = "Use at most 500 characters."

MESSAGES: tuple[str, ...] = (
    MSG_CONTACT_NAME,
    MSG_CONTACT_ROLE,
    MSG_NAME_TOO_LONG,
    MSG_NOTE_TOO_LONG,
)

NOTE_MAX = 500


class ContactRole(StrEnum):
    """Where a contact sits in the customer's buying decision."""

    PURCHASER = "purchaser"
    TECHNICAL_REVIEWER = "technical_reviewer"
    FINANCE_APPROVER = "finance_approver"
    DECISION_MAKER = "decision_maker"
    USER = "user"
    OTHER = "other"


@dataclass(frozen=True)
class ContactInput:
    """A validated contact form: canonical values ready to store."""

    name: str
    role: ContactRole
    phone: str = ""
    email: str = ""
    note: str = ""


def validate_contact(data: Mapping[str, str]) -> tuple[ContactInput | None, dict[str, str]]:
    """Check a submitted contact form; returns (ContactInput, {}) or (None, {field: msgid}).

    The phone is optional for a contact (many are reached through the company's number),
    but when given it must be a valid number and is stored in canonical form.
    """
    errors: dict[str, str] = {}
    name = clean_name(str(data.get("name") or ""))
    if not name:
        errors["name"] = MSG_CONTACT_NAME
    elif name_too_long(name):
        errors["name"] = MSG_NAME_TOO_LONG
    raw_role = str(data.get("role") or "other").strip().lower()
    role = next((r for r in ContactRole if r.value == raw_role), None)
    if role is None:
        errors["role"] = MSG_CONTACT_ROLE
    phone = ""
    if str(data.get("phone") or "").strip():
        try:
            phone = normalise_phone(str(data["phone"]))
        except PhoneError as exc:
            errors["phone"] = exc.message
    email = ""
    try:
        email = parse_email(str(data.get("email") or ""))
    except FieldError as exc:
        errors["email"] = exc.message
    note = str(data.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = MSG_NOTE_TOO_LONG
    if errors or role is None:
        return None, errors
    return ContactInput(name=name, role=role, phone=phone, email=email, note=note), {}
