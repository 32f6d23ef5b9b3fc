"""Passkey rules: when a checked sign-in is still refused, when an enrolment link is unusable."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

PASSKEY_NAME_MAX = 100


class SignInRefusal(StrEnum):
    """Why a passkey whose signature checked out still may not sign in (the audit's reason)."""

    USER_HANDLE_MISMATCH = "user_handle_mismatch"
    CREDENTIAL_REVOKED = "credential_revoked"
    USER_INACTIVE = "user_inactive"
    SIGN_COUNT_REGRESSED = "sign_count_regressed"


def sign_count_regressed(stored: int, new: int) -> bool:
    """Whether a signature counter failed to grow: a sign of a cloned authenticator.

    An authenticator without a counter always sends 0; while the stored count is 0 too,
    nothing can be compared, so it is never a regression.
    """
    return stored != 0 and new <= stored


def signin_refusal(
    *,
    user_handle: bytes | None,
    owner_handle: bytes,
    revoked: bool,
    owner_active: bool,
    stored_count: int,
    new_count: int,
) -> SignInRefusal | None:
    """Say why a verified sign-in is refused, the first rule that fails, or None to let it in.

    `user_handle` is what the authenticator returned, `owner_handle` the stored owner's.
    """
    if user_handle != owner_handle:
        return SignInRefusal.USER_HANDLE_MISMATCH
    if revoked:
        return SignInRefusal.CREDENTIAL_REVOKED
    if not owner_active:
        return SignInRefusal.USER_INACTIVE
    if sign_count_regressed(stored_count, new_count):
        return SignInRefusal.SIGN_COUNT_REGRESSED
    return None


class LinkProblem(StrEnum):
    """Why an enrolment link cannot be used."""

    UNKNOWN = "unknown"
    USED = "used"
    INACTIVE = "inactive"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkState:
    """What the rules need to know of an enrolment link and the user it is for."""

    used_at: datetime | None
    expires_at: datetime
    user_active: bool


def enrolment_link_problem(link: LinkState | None, now: datetime) -> LinkProblem | None:
    """Say why a link cannot be used now (None: no such link), or None when it can."""
    if link is None:
        return LinkProblem.UNKNOWN
    if link.used_at is not None:
        return LinkProblem.USED
    if not link.user_active:
        return LinkProblem.INACTIVE
    if link.expires_at <= now:
        return LinkProblem.EXPIRED
    return None


def passkey_name_clean(raw: str) -> str | None:
    """A passkey name with its spaces collapsed, or None when empty or too long."""
    name = " ".join(raw.split())
    return name if 0 < len(name) <= PASSKEY_NAME_MAX else None
