"""Passkey ceremonies on py_webauthn 3: options, single-use challenges in the session, checks.

The controllers (sign-in, enrolment, settings) stay thin: they call these helpers and turn a
`CeremonyError` into a JSON body `{"error": "<plain words>"}` that static/js/passkeys.js shows.
Enrolment and "Add passkey" share one registration routine (`registration_options`, then
`registration_finish`).
"""

import json
import re
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from db.audit import audit_add
from db.credentials import credential_add, credential_exists, credential_ids
from db.models import Credential, User
from web.core.client_ip import client_ip
from web.core.clock import request_now
from web.core.htmx import session_of
from web.core.i18n import gettext as _
from web.core.ratelimit import throttle
from web.core.settings import Settings

CHALLENGE_TTL = timedelta(minutes=5)
CEREMONY_TIMEOUT_MS = 120_000
BAD_RESPONSE_ERRORS = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class CeremonyError(Exception):
    """A refused ceremony: a reason code for the audit log and words for the user."""

    def __init__(
        self,
        reason: str,
        message: str,
        status: int = 400,
        detail: str = "",
        user_id: int | None = None,
    ):
        """Create the error; `user_id` is whose passkey it was, when known (for the audit)."""
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status
        self.detail = detail
        self.user_id = user_id

    @property
    def audit_detail(self) -> dict[str, str]:
        """What the audit log keeps of the refusal."""
        return {"reason": self.reason, **({"detail": self.detail} if self.detail else {})}


def json_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """A JSON error the page shows as plain words."""
    return Response(
        content={"error": message},
        status_code=status,
        media_type="application/json",
        headers=headers or {},
    )


def json_ok(payload: dict[str, Any]) -> Response:
    """A JSON success answer."""
    return Response(content=payload, status_code=200, media_type="application/json")


def options_response(options: object) -> Response:
    """Send WebAuthn options exactly as py_webauthn serialises them."""
    return Response(
        content=options_to_json(options).encode(),
        status_code=200,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def ceremony_error_response(exc: CeremonyError) -> Response:
    """Turn a refusal into its JSON answer."""
    return json_error(exc.message, exc.status)


async def too_many(request: Request, **keys: str | bytes | None) -> Response | None:
    """Count an attempt (address and the given keys); a 429 JSON answer when over a limit."""
    throttled = await throttle(request, **keys)
    if throttled is None:
        return None
    return json_error(throttled.message, 429, {"Retry-After": throttled.retry_after})


async def signin_too_many(request: Request) -> Response | None:
    """Throttle a sign-in answer per session and per passkey it names (and the address)."""
    raw_id = None
    try:
        data = json.loads(await request.body() or b"{}")
        credential = data.get("credential") if isinstance(data, dict) else None
        if isinstance(credential, dict) and isinstance(credential.get("rawId"), str):
            raw_id = credential["rawId"][:1024]
    except ValueError:
        pass  # the ceremony itself refuses a bad body
    return await too_many(request, session=session_of(request).token, credential=raw_id)


def challenge_put(request: Request, purpose: str, challenge: bytes, **extra: object) -> None:
    """Keep a challenge in the server-side session with its purpose and creation time."""
    session_of(request).set(
        f"webauthn:{purpose}",
        {
            "challenge": bytes_to_base64url(challenge),
            "at": request_now(request).isoformat(),
            **extra,
        },
    )


def challenge_take(request: Request, purpose: str) -> dict[str, Any]:
    """Remove the session's challenge for a purpose (single use) and check its age."""
    stored = session_of(request).pop(f"webauthn:{purpose}")
    if not isinstance(stored, dict) or "challenge" not in stored:
        raise CeremonyError("challenge_missing", expired_message())
    created = datetime.fromisoformat(stored["at"])
    age = request_now(request) - created
    if age > CHALLENGE_TTL or age < -timedelta(minutes=1):
        raise CeremonyError("challenge_expired", expired_message())
    return {**stored, "challenge": base64url_to_bytes(stored["challenge"])}


def expired_message() -> str:
    """What to say when a ceremony has no live challenge."""
    return _("This attempt took too long or was already used. Please try again.")


def invalid_message() -> str:
    """What to say when the authenticator's answer does not check out."""
    return _("Your passkey could not be checked. Please try again.")


async def read_json(request: Request) -> dict[str, Any]:
    """Parse a JSON request body into a dict, or refuse in plain words."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CeremonyError("bad_request", invalid_message())
    return data


async def registration_options(
    request: Request,
    db: AsyncSession,
    settings: Settings,
    *,
    user: User,
    purpose: str,
    **binding: object,
) -> Response:
    """Start registering a passkey: discoverable credential, user verification required.

    The challenge is kept for `purpose` with the user's id and `binding` (such as the
    enrolment link's id), which `registration_finish` checks again.
    """
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name=_("Kehu"),
        user_id=user.webauthn_handle,
        user_name=user.name,
        user_display_name=user.name,
        timeout=CEREMONY_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=cid)
            for cid in await credential_ids(db, user_id=user.id)
        ],
    )
    challenge_put(request, purpose, options.challenge, user_id=user.id, **binding)
    return options_response(options)


def registration_verify(
    settings: Settings, credential: object, *, challenge: bytes
) -> VerifiedRegistration:
    """Check a registration response against the session's challenge, origin and RP id."""
    if not isinstance(credential, dict):
        raise CeremonyError("bad_request", invalid_message())
    try:
        return verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            require_user_verification=True,
        )
    except BAD_RESPONSE_ERRORS as exc:
        raise CeremonyError("invalid_response", invalid_message(), detail=str(exc)[:200]) from exc


async def registration_finish(
    request: Request,
    db: AsyncSession,
    settings: Settings,
    *,
    purpose: str,
    user_id: int,
    audit_action: str,
    now: datetime,
    **binding: object,
) -> Credential:
    """Finish registering a passkey for a user: check, store and audit it (caller commits).

    Uses up the session's challenge, refuses one issued for another user (or link), checks
    the authenticator's answer and refuses a passkey that is already registered. The new
    passkey is named after the browser and system that made it.
    """
    stored = challenge_take(request, purpose)
    data = await read_json(request)
    if any(stored.get(key) != value for key, value in {"user_id": user_id, **binding}.items()):
        raise CeremonyError("challenge_mismatch", _("Please reload the page and try again."))
    credential = data.get("credential")
    verified = registration_verify(settings, credential, challenge=stored["challenge"])
    if await credential_exists(db, credential_id=verified.credential_id):
        raise CeremonyError("credential_exists", _("This passkey is already registered."), 409)
    row = await credential_add(
        db,
        user_id=user_id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports_of(credential),
        name=device_name(request.headers.get("user-agent", "")),
        now=now,
    )
    await audit_add(
        db,
        action=audit_action,
        actor_id=user_id,
        entity="credential",
        entity_id=row.id,
        detail={"name": row.name, "aaguid": verified.aaguid},
        ip=client_ip(request),
    )
    return row


def transports_of(credential: dict[str, Any]) -> list[str]:
    """The transports a browser reported for a new credential (kept for later hints)."""
    response = credential.get("response")
    raw = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(raw, list):
        return []
    return [t for t in raw if isinstance(t, str) and re.fullmatch(r"[a-z-]{1,20}", t)][:8]


def authentication_options(settings: Settings, request: Request, **extra: object) -> Response:
    """Start a usernameless sign-in (discoverable credentials, user verification required)."""
    options = generate_authentication_options(
        rp_id=settings.rp_id,
        timeout=CEREMONY_TIMEOUT_MS,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    challenge_put(request, "signin", options.challenge, **extra)
    return options_response(options)


def credential_id_of(credential: object) -> bytes:
    """The raw credential id a sign-in response names."""
    if not isinstance(credential, dict) or not isinstance(credential.get("rawId"), str):
        raise CeremonyError("bad_request", invalid_message())
    try:
        return base64url_to_bytes(credential["rawId"])
    except BAD_RESPONSE_ERRORS as exc:
        raise CeremonyError("bad_request", invalid_message()) from exc


def user_handle_of(credential: dict[str, Any]) -> bytes | None:
    """The user handle a discoverable credential returned, if any."""
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if not isinstance(handle, str) or not handle:
        return None
    try:
        return base64url_to_bytes(handle)
    except BAD_RESPONSE_ERRORS:
        return None


def authentication_verify(
    settings: Settings, credential: dict[str, Any], *, challenge: bytes, public_key: bytes
) -> int:
    """Check a sign-in response's signature, challenge, origin, RP id and UV; return its counter.

    The counter itself is compared by the caller, so a regression can be told apart from a
    bad signature and audited as such.
    """
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except BAD_RESPONSE_ERRORS as exc:
        raise CeremonyError("invalid_response", invalid_message(), detail=str(exc)[:200]) from exc
    return verified.new_sign_count


_BROWSERS = (
    ("EdgA/", "Edge"),
    ("Edg/", "Edge"),
    ("MicroMessenger", "WeChat"),
    ("SamsungBrowser", "Samsung Internet"),
    ("HuaweiBrowser", "Huawei Browser"),
    ("UCBrowser", "UC Browser"),
    ("QQBrowser", "QQ Browser"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("OPR/", "Opera"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "Mac"),
    ("Macintosh", "Mac"),
    ("Linux", "Linux"),
)


def device_name(user_agent: str) -> str:
    """Name a new passkey after the browser and system that made it ("Chrome on Android")."""
    browser = next((name for key, name in _BROWSERS if key in user_agent), "")
    system = next((name for key, name in _SYSTEMS if key in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Passkey")
