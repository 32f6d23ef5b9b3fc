"""Personal data rules (PIPL): request due dates, who may, erasure marker, legal hold, retention."""

import html
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.enums import Role
from domain.users import Actor

# What an erased personal value becomes, everywhere it lived (short enough for every column).
ERASED = "[erased]"
DEFAULT_DUE_DAYS = 15  # PIPL practice: answer within 15 working days; admins may change it
DEFAULT_LOCATION_DAYS = 180
MAX_DUE_DAYS = 365
MAX_RETENTION_DAYS = 3650
MAX_TEXT = 500
# A needle shorter than this would redact unrelated text ("王" in every Chinese name).
MIN_NEEDLE = 3


class RequestKind(StrEnum):
    """What a person asks for (PIPL Art. 44-47)."""

    ACCESS = "access"
    COPY = "copy"
    CORRECTION = "correction"
    DELETION = "deletion"


class Channel(StrEnum):
    """How the request reached the company."""

    PHONE = "phone"
    EMAIL = "email"
    IN_PERSON = "in_person"
    LETTER = "letter"
    OTHER = "other"


class RequestStatus(StrEnum):
    """Where a request stands."""

    OPEN = "open"
    ANSWERED = "answered"
    REFUSED = "refused"


class DataBasis(StrEnum):
    """Why the company holds a customer's personal data (PIPL Art. 13)."""

    CONTRACT = "contract"
    CONSENT = "consent"
    LEGITIMATE = "legitimate"


def can_handle_requests(actor: Actor) -> bool:
    """Privacy requests are handled by admins and by users an admin gave the permission."""
    return actor.role == Role.ADMIN or actor.may_handle_privacy


def can_read_audit(actor: Actor) -> bool:
    """Admins read the whole audit log; managers read their team's part of it."""
    return actor.role in (Role.ADMIN, Role.MANAGER)


def due_on(received_on: date, due_days: int) -> date:
    """The day a request must be answered by."""
    return received_on + timedelta(days=due_days)


def is_overdue(due: date, status: str, today: date) -> bool:
    """An open request past its due day is overdue."""
    return status == RequestStatus.OPEN and today > due


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Visit locations recorded before this moment are dropped."""
    return now - timedelta(days=days)


def erasure_refusal(hold_reason: str | None) -> str | None:
    """Why a customer cannot be erased (a legal hold), or None when it may be."""
    return hold_reason or None


def _fold(text: str) -> str:
    """Compare texts without case and width differences."""
    return unicodedata.normalize("NFKC", text).casefold()


def needles(values: list[str]) -> list[str]:
    """The personal strings to hunt for: each value, its digits-only form, long enough only."""
    out: set[str] = set()
    for value in values:
        text = _fold(str(value or "").strip())
        if len(text) >= MIN_NEEDLE and text != _fold(ERASED):
            out.add(text)
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 7:
            out.add(digits)
            if digits.startswith("86") and len(digits) == 13:
                out.add(digits[2:])
    return sorted(out, key=len, reverse=True)


def redact(value: object, found: list[str]) -> object:
    """Replace every string in a JSON value that holds a personal needle with the marker."""
    if isinstance(value, str):
        folded = _fold(value)
        digits = re.sub(r"\D", "", folded)
        hit = any(n in folded or (n.isdigit() and n in digits) for n in found)
        return ERASED if hit else value
    if isinstance(value, list):
        return [redact(v, found) for v in value]
    if isinstance(value, dict):
        return {k: redact(v, found) for k, v in value.items()}
    return value


# A number as a sheet may write it: digits with spaces, dashes or dots between them.
_NUMBER = re.compile(r"\+?\d[\d \-.]{5,}\d")
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
_MAX_MEMBER = 200 * 1024 * 1024  # an XLSX part larger than this is not read (a zip bomb)


def text_mentions(text: str, found: list[str]) -> bool:
    """Whether a document's text holds a personal needle (numbers compared by digits)."""
    folded = _fold(text)
    if any(n in folded for n in found if not n.isdigit()):
        return True
    digits = [n for n in found if n.isdigit()]
    if not digits:
        return False
    runs = [re.sub(r"\D", "", m) for m in _NUMBER.findall(folded)]
    return any(n in run for run in runs for n in digits)


def file_mentions(data: bytes, found: list[str]) -> bool:
    """Whether an uploaded spreadsheet holds one of a person's values, on any sheet.

    An XLSX/ODS is a zip of XML parts, read part by part (entities unescaped); a CSV is
    text in UTF-8 or GB18030. A file that cannot be read as either (an old .xls) cannot
    be ruled out, so it counts as holding the person: erasure then drops it.
    """
    if not data or not found:
        return False
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                for part in book.infolist():
                    if part.file_size > _MAX_MEMBER:
                        return True
                    text = html.unescape(book.read(part).decode("utf-8", "replace"))
                    if text_mentions(text, found):
                        return True
            return False
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
            return True
    if data.startswith(_OLE):
        return True
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return text_mentions(data.decode(encoding), found)
        except UnicodeDecodeError:
            continue
    return True


@dataclass(frozen=True)
class RequestInput:
    """A validated privacy request form."""

    requester: str
    contact: str
    channel: Channel
    kind: RequestKind
    received_on: date
    due_on: date
    subject: str


def request_validate(
    form: dict[str, str], *, today: date, due_days: int
) -> tuple[RequestInput | None, dict[str, str]]:
    """Check a new-request form; return the input or field -> error msgid."""
    errors: dict[str, str] = {}
    requester = form.get("requester", "").strip()[:MAX_TEXT]
    subject = form.get("subject", "").strip()[:MAX_TEXT]
    if not requester:
        errors["requester"] = "Enter who asked."
    if not subject:
        errors["subject"] = "Enter the phone number or name to look for."
    try:
        channel = Channel(form.get("channel", ""))
    except ValueError:
        errors["channel"] = "Choose how the request came in."
        channel = Channel.OTHER
    try:
        kind = RequestKind(form.get("kind", ""))
    except ValueError:
        errors["kind"] = "Choose what the person asks for."
        kind = RequestKind.ACCESS
    received = _date(form.get("received_on", ""), today)
    if received is None or received > today:
        errors["received_on"] = "Enter the day it was received (not in the future)."
        received = today
    due = _date(form.get("due_on", ""), None) if form.get("due_on") else due_on(received, due_days)
    if due is None or due < received:
        errors["due_on"] = "Enter a due date on or after the day received."
    if errors:
        return None, errors
    return RequestInput(
        requester=requester,
        contact=form.get("contact", "").strip()[:MAX_TEXT],
        channel=channel,
        kind=kind,
        received_on=received,
        due_on=due,  # type: ignore[arg-type]
        subject=subject,
    ), {}


def _date(raw: str, default: date | None) -> date | None:
    """Parse an ISO date; the default when empty, None when malformed."""
    raw = raw.strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def reason_validate(raw: str) -> tuple[str | None, str | None]:
    """An answer or refusal needs a stated reason (PIPL Art. 50); return it or an error."""
    reason = raw.strip()[:MAX_TEXT]
    if not reason:
        return None, "State the reason."
    return reason, None


def days_validate(raw: str, *, upper: int) -> int | None:
    """A whole number of days from 1 to `upper`, or None."""
    raw = raw.strip()
    if not raw.isdigit() or not 1 <= int(raw) <= upper:
        return None
    return int(raw)
