"""Phone numbers: one canonical form for storage, dedupe and search, and a readable display."""

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

CHINA_CODE = 86

MSG_PHONE_REQUIRED = "Enter a phone number."
MSG_PHONE_INVALID = "Enter a valid phone number, e.g. 138 0013 8000."
MSG_PHONE_AREA_CODE = "Include the area code, e.g. 021 6234 5678."

MESSAGES: tuple[str, ...] = (MSG_PHONE_REQUIRED, MSG_PHONE_INVALID, MSG_PHONE_AREA_CODE)

# What people type around the digits of a number. Anything else (letters, "转 801",
# "#801") is refused, because phonenumbers would silently drop it or read it as a vanity
# number, and the stored number must be exactly what the customer answers on.
_PHONE_CHARS = re.compile(r"[+\d\s\-().]+")
_QUERY_CHARS = re.compile(r"\+?[\d\s\-().]+")
# A mainland number written without its area code: 7-8 digits, no leading 0, 1 or +.
_LOCAL_ONLY = re.compile(r"[2-9]\d{6,7}")
# Fewer digits than this match too many customers to be worth a phone search.
MIN_QUERY_DIGITS = 3


class PhoneError(ValueError):
    """A phone number that cannot be stored; `message` is an English msgid for the user."""

    def __init__(self, message: str) -> None:
        """Keep the user-facing message next to the exception."""
        super().__init__(message)
        self.message = message


def _clean(raw: str) -> str:
    """Fold full-width digits and symbols to ASCII and trim the ends."""
    return unicodedata.normalize("NFKC", raw or "").strip()


def _digits(text: str) -> str:
    """Return only the ASCII digits of a text."""
    return "".join(ch for ch in text if "0" <= ch <= "9")


def normalise_phone(raw: str, region: str = "CN") -> str:
    """Return the canonical form of a phone number or raise PhoneError.

    Mainland mobiles become 11 digits ("13800138000"), other mainland numbers are
    dialled with their trunk 0 ("02162345678", "4008108888"), every other country
    is E.164 ("+442079460958"). `region` is assumed when no country code is typed.
    """
    text = _clean(raw)
    if not _digits(text):
        raise PhoneError(MSG_PHONE_REQUIRED if not text else MSG_PHONE_INVALID)
    if not _PHONE_CHARS.fullmatch(text):
        raise PhoneError(MSG_PHONE_INVALID)
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise PhoneError(MSG_PHONE_INVALID) from exc
    if not phonenumbers.is_valid_number(number):
        if region == "CN" and _LOCAL_ONLY.fullmatch(_digits(text)) and "+" not in text:
            raise PhoneError(MSG_PHONE_AREA_CODE)
        raise PhoneError(MSG_PHONE_INVALID)
    return _canonical(number)


def _canonical(number: phonenumbers.PhoneNumber) -> str:
    """Format a valid parsed number in the stored form."""
    if number.country_code == CHINA_CODE:
        # The national format is what is dialled inside China: the mobile as is, a
        # landline with its trunk 0 and area code. Only its digits are kept.
        return _digits(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_digits_query(q: str) -> str | None:
    """Return the digits to look for when a search query is a phone number or a part of one.

    The query may hold spaces, dashes, dots, brackets and a leading +; a leading
    +86 / 0086 is dropped because mainland numbers are stored without it. Returns
    None when the query is not phone-like or has fewer than MIN_QUERY_DIGITS digits.
    """
    text = _clean(q)
    if not text or not _QUERY_CHARS.fullmatch(text):
        return None
    digits = _digits(text)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix) and len(digits) > len(_digits(prefix)):
            digits = digits[len(_digits(prefix)) :]
            break
    return digits if len(digits) >= MIN_QUERY_DIGITS else None


def last4(phone: str) -> str:
    """Return the last four digits of a phone number (all of them when shorter)."""
    return _digits(phone or "")[-4:]


# Parsing with phonenumbers costs ~0.07 ms, and a page shows the same numbers again and
# again (the customer page on every view, its contacts, search results): kept per number.
@lru_cache(maxsize=8192)
def format_phone_display(phone: str) -> str:
    """Return a stored phone number grouped for reading ("138 0013 8000", "021 6234 5678").

    Foreign numbers are shown in international format ("+44 20 7946 0958"). A value that
    does not parse is returned unchanged: showing a page must never fail on old data.
    """
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, "CN")
    except NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(number):
        return phone
    if number.country_code == CHINA_CODE:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
