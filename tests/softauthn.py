"""A software WebAuthn authenticator for tests: ES256, packed or none attestation, resident keys.

It answers the options a server sends (as parsed JSON) with the JSON a browser would post back,
and lets a test bend one thing at a time: the origin, the RP id, the UV flag, the sign counter,
the user handle.
"""

import hashlib
import json
import secrets
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40
AAGUID = bytes.fromhex("6b6f6875736f6674617574686e000001")


def b64u(data: bytes) -> str:
    """Encode bytes as unpadded base64url."""
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    """Decode unpadded base64url."""
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Key:
    """One resident credential held by the authenticator."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


class SoftAuthenticator:
    """A platform authenticator with user verification, held in memory."""

    def __init__(self, origin: str = "http://localhost:8000", *, attestation: str = "packed"):
        """Create an empty authenticator that answers as a browser on `origin`."""
        self.origin = origin
        self.attestation = attestation
        self.keys: dict[bytes, Key] = {}

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        """Build clientDataJSON as a browser does."""
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def _flags(self, up: bool, uv: bool) -> int:
        """Combine the user presence and verification flags."""
        return (UP if up else 0) | (UV if uv else 0)

    def create(
        self, options: dict, *, origin: str | None = None, rp_id: str | None = None, uv: bool = True
    ) -> dict:
        """Answer navigator.credentials.create() options with a registration response."""
        rp = rp_id or options["rp"]["id"]
        excluded = {unb64u(c["id"]) for c in options.get("excludeCredentials", [])}
        if excluded & set(self.keys):
            raise ValueError("InvalidStateError: a credential of this authenticator is excluded")
        key = Key(
            secrets.token_bytes(16),
            ec.generate_private_key(ec.SECP256R1()),
            rp,
            unb64u(options["user"]["id"]),
        )
        self.keys[key.credential_id] = key
        numbers = key.private_key.public_key().public_numbers()
        cose = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(True, uv) | AT])
            + struct.pack(">I", key.sign_count)
            + AAGUID
            + struct.pack(">H", len(key.credential_id))
            + key.credential_id
            + cose
        )
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        if self.attestation == "packed":
            signed = auth_data + hashlib.sha256(client_data).digest()
            sig = key.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
            att = {"fmt": "packed", "attStmt": {"alg": -7, "sig": sig}, "authData": auth_data}
        else:
            att = {"fmt": "none", "attStmt": {}, "authData": auth_data}
        return {
            "id": b64u(key.credential_id),
            "rawId": b64u(key.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64u(client_data),
                "attestationObject": b64u(cbor2.dumps(att)),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(
        self,
        options: dict,
        *,
        credential_id: bytes | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        uv: bool = True,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
    ) -> dict:
        """Answer navigator.credentials.get() options (usernameless: pick a resident key)."""
        rp = rp_id or options["rpId"]
        if credential_id is None:
            candidates = [k for k in self.keys.values() if k.rp_id == options["rpId"]]
            if not candidates:
                raise ValueError("NotAllowedError: no passkey for this site")
            key = candidates[-1]
        else:
            key = self.keys[credential_id]
        key.sign_count = key.sign_count + 1 if sign_count is None else sign_count
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(True, uv)])
            + struct.pack(">I", key.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        return {
            "id": b64u(key.credential_id),
            "rawId": b64u(key.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64u(client_data),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(key.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))),
                "userHandle": b64u(key.user_handle if user_handle is None else user_handle),
            },
        }


# --- Driving the app's ceremonies through an HTTP test client -------------------------------


async def page_csrf(client, path: str = "/login") -> str:
    """GET a page and return the CSRF token its passkey button (or any form) carries."""
    from selectolax.lexbor import LexborHTMLParser

    response = await client.get(path)
    tree = LexborHTMLParser(response.text)
    node = tree.css_first("[data-csrf]") or tree.css_first("input[name=_csrf_token]")
    assert node is not None, f"no CSRF token on {path}"
    return node.attributes.get("data-csrf") or node.attributes["value"]


async def post_json(client, url: str, csrf: str, body: dict | None = None):
    """POST JSON with the CSRF header, as static/js/passkeys.js does."""
    return await client.post(
        url,
        content=json.dumps(body or {}),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
    )


async def enrol_with(client, auth: SoftAuthenticator, token: str, **create_kw):
    """Run the enrolment ceremony of /enroll/<token>; return the verify response."""
    csrf = await page_csrf(client, f"/enroll/{token}")
    options = await post_json(client, f"/enroll/{token}/options", csrf)
    assert options.status_code == 200, options.text
    credential = auth.create(options.json(), **create_kw)
    return await post_json(client, f"/enroll/{token}/verify", csrf, {"credential": credential})


async def signin_with(client, auth: SoftAuthenticator, next: str = "/", **get_kw):
    """Run a usernameless sign-in from /login; return the verify response."""
    csrf = await page_csrf(client, "/login")
    options = await post_json(client, "/login/options", csrf)
    assert options.status_code == 200, options.text
    credential = auth.get(options.json(), **get_kw)
    return await post_json(client, "/login/verify", csrf, {"credential": credential, "next": next})


async def new_link(db, user, *, hours: int = 24, now=None) -> str:
    """Create an enrolment link for a user; return the raw token."""
    from db.enrolment import enrolment_create
    from db.types import utcnow

    token = await enrolment_create(
        db, user_id=user.id, created_by=None, ttl_hours=hours, now=now or utcnow()
    )
    await db.commit()
    return token


async def enrolled_user(client, db, *, name="陈静", role="rep", locale="en", team=None, auth=None):
    """Create a user, enrol a passkey through the real ceremony, then forget the cookies."""
    from tests import factories as make

    if team is None and role != "admin":
        team = await make.team(db, "华东销售一组", store=role == "clerk")
    user = await make.user(db, name=name, role=role, team=team, locale=locale)
    auth = auth or SoftAuthenticator()
    response = await enrol_with(client, auth, await new_link(db, user))
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return user, auth
