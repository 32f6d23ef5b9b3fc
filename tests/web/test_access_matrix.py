"""The route authorization matrix, built from the app's router.

Every route of the app (path, method, name) is requested by a signed-out visitor and by
each role, on objects of the requester's own team and of another team, and the answer is
checked against the policy declared in web/core/access.py: allowed (2xx/3xx other than the
sign-in redirect), 403, 404, or the redirect to sign in. A route added without a policy
fails here with its name; so does a route whose answer does not match its policy.
"""

import itertools
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from litestar import get
from litestar.testing import AsyncTestClient
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from db.credentials import credential_add
from db.customers import contact_add
from db.enrolment import enrolment_create
from db.imports import import_job_create
from db.models import CustomFieldDefinition, PrivacyRequest, Team, User
from db.sales import approval_request_add
from db.sessions import session_save
from db.types import utcnow
from domain.contacts import validate_contact
from domain.enums import Role
from domain.sales import ApprovalKind
from tests import factories as make
from web.app import create_app
from web.core import access
from web.core.csrf import csrf_token_for
from web.core.sessions import COOKIE, hash_token
from web.core.settings import load_settings

ALLOWED, FORBIDDEN, NOT_FOUND, LOGIN = "allowed", "403", "404", "sign-in"
ROLES = (Role.REP, Role.CLERK, Role.MANAGER, Role.ADMIN)

# Business rules inside handlers that refine the route policy for one role (the access
# table says who may reach the route; these say what the handler then decides).
ROLE_RULES: dict[tuple[str, Role], str] = {
    # Quick add at the counter creates a store customer: only users of a store team.
    ("counter.new", Role.MANAGER): FORBIDDEN,  # this manager leads a field team
    ("counter.new", Role.ADMIN): FORBIDDEN,  # admins belong to no store
    ("counter.create", Role.MANAGER): FORBIDDEN,
    ("counter.create", Role.ADMIN): FORBIDDEN,
    # Export is an admin setting per role; reps and clerks are off by default.
    ("exports.page", Role.REP): FORBIDDEN,
    ("exports.page", Role.CLERK): FORBIDDEN,
    ("exports.customers", Role.REP): FORBIDDEN,
    ("exports.customers", Role.CLERK): FORBIDDEN,
    ("exports.visits", Role.REP): FORBIDDEN,
    ("exports.visits", Role.CLERK): FORBIDDEN,
    # Import is an admin setting per role too (reps and clerks off by default).
    **{
        (name, role): FORBIDDEN
        for name in (
            "imports.new",
            "imports.upload",
            "imports.mapping",
            "imports.mapping_save",
            "imports.preview",
            "imports.run",
            "imports.progress",
            "imports.report",
            "imports.undo",
        )
        for role in (Role.REP, Role.CLERK)
    },
    # Privacy requests: the table lets every signed-in user through; the controller's
    # guard admits admins and users with the privacy permission (none in the matrix).
    **{
        (name, role): FORBIDDEN
        for name in (
            "privacy.basis",
            "privacy.copy_json",
            "privacy.copy_pdf",
            "privacy.erase",
            "privacy.erase_confirm",
            "privacy.hold",
            "privacy.overdue",
            "privacy.request",
            "privacy.request_add",
            "privacy.request_close",
            "privacy.requests",
            "privacy.settings",
        )
        for role in (Role.REP, Role.CLERK, Role.MANAGER)
    },
}
# How a route refuses another team's object (default: 404, the object does not exist for
# the requester). Team pages name the team in the query: choosing another team is a 403.
OTHER_TEAM: dict[str, str] = {
    "team.page": FORBIDDEN,
    "team.list": FORBIDDEN,
    "report.weekly": FORBIDDEN,
    "report.weekly_pdf": FORBIDDEN,
}
# Objects of one person, not of a team: even an admin cannot use another user's passkey.
PERSONAL = {"settings.passkey_rename", "settings.passkey_revoke"}
# The passkey ceremonies' second step needs a real authenticator: reaching the handler
# (a JSON error about the missing challenge) is what "allowed" means for them here.
CEREMONY = {"auth.verify", "enroll.verify", "settings.passkey_verify"}
# Routes whose answer is the same for everyone.
ALWAYS = {"notfound": NOT_FOUND}
# Requests that change what later requests see run last, in this order.
LAST = [
    "imports.run",
    "imports.undo",
    "sales.stage_change",
    "sales.status_change",
    "approvals.decide",
    "sales.withdraw",
    "privacy.erase",
    "customers.contact_delete",
    "visits.undo",
    "settings.passkey_revoke",
    "custom_fields.retire",
    "pool.release",
    "pool.handover_confirm",
    "admin_users.deactivate",
    "auth.logout",
]
# The GET page whose form a POST route submits (its fields and current values are sent).
FORM_PAGES = {
    "customers.create": "customers.new",
    "customers.update": "customers.edit",
    "customers.contact_update": "customers.contact_edit",
    "visits.update": "visits.edit",
    "custom_fields.update": "custom_fields.edit",
    "admin.outcomes.update": "admin.outcomes",
    "admin.cadence.save": "admin.cadence",
    "rfm.save": "rfm.admin",
    "imports.mapping_save": "imports.mapping",
    "admin.transfer.save": "admin.transfer",  # keeps the default roles for the routes after it
    "pool.settings_save": "pool.settings",
}
# POST routes that take a file (multipart): the file each sends.
FILES = {"imports.upload": ("matrix.csv", "名称,手机\n矩阵导入,13900000000\n".encode(), "text/csv")}
# Parameters whose objects belong to a team (or a person): "other" uses side B's object.
SCOPED_PARAMS = {
    "customer_id",
    "contact_id",
    "visit_id",
    "credential_pk",
    "request_id",
    "team",
    "job_id",
}


@dataclass
class Side:
    """One half of the world: a field team, a store, and each role's own objects there."""

    field_team: Team
    store: Team
    users: dict[Role, User]
    spare: User  # for the admin's user pages (deactivated at the end)
    customers: dict[Role, int] = field(default_factory=dict)
    contacts: dict[Role, int] = field(default_factory=dict)
    visits: dict[Role, int] = field(default_factory=dict)
    credentials: dict[Role, int] = field(default_factory=dict)
    request_customer: int = 0  # the rep's customer with a change waiting for approval
    request_id: int = 0
    job_id: int = 0  # an import started by the side's manager


@dataclass
class World:
    """Two sides, the shared admin objects, and each identity's session cookie."""

    a: Side
    b: Side
    admin: User
    field_id: int
    enrol_token: str
    cookies: dict[Role | None, str]
    privacy_request_id: int = 0


@pytest.fixture
def matrix_settings(tmp_path, database_url):
    """Settings for a fresh database; sign-in attempts are not rate-limited here."""
    settings = load_settings(
        {
            "KEHU_DATABASE_URL": database_url,
            "KEHU_SECRET_KEY": "test-secret-" + "x" * 40,
            "KEHU_ORIGIN": "http://localhost:8000",
            "KEHU_RATE_LIMIT_PER_MINUTE": "100000",
        },
        workdir=tmp_path,
    )
    return settings


async def _session_cookie(db, user: User) -> str:
    """A server-side session for a user; return the cookie value."""
    token = secrets.token_urlsafe(32)
    await session_save(
        db,
        id_hash=hash_token(token),
        user_id=user.id,
        data={},
        expires_at=utcnow() + timedelta(days=1),
    )
    return token


async def _side(db, tag: str) -> Side:
    """Teams, one user per role (the admin is shared) and their customers and contacts."""
    field_team = await make.team(db, f"销售{tag}组")
    store = await make.team(db, f"{tag}门店", store=True)
    users = {
        Role.REP: await make.user(db, name=f"代表{tag}", role="rep", team=field_team),
        Role.MANAGER: await make.user(db, name=f"经理{tag}", role="manager", team=field_team),
        Role.CLERK: await make.user(db, name=f"店员{tag}", role="clerk", team=store),
    }
    spare = await make.user(db, name=f"备用{tag}", role="rep", team=field_team)
    side = Side(field_team, store, users, spare)
    owners = {
        Role.REP: (field_team, users[Role.REP]),
        Role.CLERK: (store, users[Role.CLERK]),
        Role.MANAGER: (field_team, None),
        Role.ADMIN: (field_team, users[Role.REP]),
    }
    for role, (team, owner) in owners.items():
        customer = await make.customer(db, team=team, owner=owner, name=f"客户{tag}{role.value}")
        side.customers[role] = customer.id
        contact, errors = validate_contact({"name": f"联系人{tag}{role.value}"})
        assert contact is not None, errors
        row = await contact_add(db, customer_id=customer.id, data=contact, user_id=None)
        side.contacts[role] = row.id
    waiting = await make.customer(
        db, team=field_team, owner=users[Role.REP], name=f"待批客户{tag}", stage="won", status="won"
    )
    approval = await approval_request_add(
        db,
        kind=ApprovalKind.WON_TO_LOST,
        customer=waiting,
        payload={"status": "lost", "reason": "price", "comment": ""},
        requested_by=users[Role.REP].id,
    )
    side.request_customer, side.request_id = waiting.id, approval.id
    job = await import_job_create(
        db, user_id=users[Role.MANAGER].id, team_id=field_team.id, filename="matrix.csv",
        data=b"x", sheets=[], sheet="", headers=["名称"], rows=[(2, [f"导入{tag}"])],
        mapping=["name"],
    )  # fmt: skip
    side.job_id = job.id
    await db.commit()
    return side


async def _credentials(db, side: Side, admin: User | None) -> None:
    """Two passkeys per person (so one can be revoked); side.credentials holds the first."""
    people = {**side.users, **({Role.ADMIN: admin} if admin else {})}
    for role, user in people.items():
        for n in range(2):
            row = await credential_add(
                db,
                user_id=user.id,
                credential_id=secrets.token_bytes(16),
                public_key=secrets.token_bytes(64),
                sign_count=0,
                transports=["internal"],
                name=f"key {n}",
                now=utcnow(),
            )
            if n == 0:
                side.credentials.setdefault(role, row.id)
    await db.commit()


class Requester:
    """One in-process client that switches identity by swapping the session cookie."""

    def __init__(self, client: AsyncTestClient, world_cookies: dict, secret: str):
        """Wrap the client; each identity's CSRF token is bound to its own session."""
        self.client = client
        self.cookies = world_cookies
        self.secret = secret
        self.csrf = ""

    def be(self, who: Role | None) -> None:
        """Act as `who` (None: signed out, an anonymous session) from the next request on."""
        self.client.cookies.delete(COOKIE)
        cookie = self.cookies.get(who)
        if cookie is not None:
            self.client.cookies.set(COOKIE, cookie)
        self.csrf = csrf_token_for(self.secret, cookie) if cookie else ""

    async def fetch_csrf(self) -> None:
        """Open the sign-in page signed out: its anonymous session is the signed-out identity."""
        self.client.cookies.delete(COOKIE)
        page = LexborHTMLParser((await self.client.get("/login")).text)
        self.csrf = page.css_first("input[name=_csrf_token]").attributes["value"]
        self.cookies[None] = self.client.cookies.get(COOKIE)

    async def request(self, method: str, url: str, data: dict | None = None, json=None, files=None):
        """Send one request; unsafe methods carry the CSRF token."""
        if method == "GET":
            return await self.client.get(url, follow_redirects=False)
        headers = {"x-csrftoken": self.csrf}
        if files is not None:
            return await self.client.request(
                method, url, data={**(data or {}), "_csrf_token": self.csrf}, files=files,
                headers=headers, follow_redirects=False,
            )  # fmt: skip
        if json is not None:
            return await self.client.request(
                method, url, json=json, headers=headers, follow_redirects=False
            )
        return await self.client.request(
            method,
            url,
            data={**(data or {}), "_csrf_token": self.csrf},
            headers=headers,
            follow_redirects=False,
        )


async def _visit(req: Requester, who: Role, customer_id: int) -> int:
    """Record a visit as `who` through the app; return its id."""
    req.be(who)
    response = await req.client.post(
        f"/customers/{customer_id}/visits",
        data={"outcome": "called", "idempotency_key": uuid.uuid4().hex},
        headers={"HX-Request": "true", "x-csrftoken": req.csrf},
    )
    assert response.status_code == 200, response.text
    node = LexborHTMLParser(response.text).css_first("li[id^=visit-]")
    return int(node.attributes["id"].removeprefix("visit-"))


async def build_world(app, req: Requester) -> World:
    """Seed both sides, sessions, passkeys, a custom field, visits and an enrolment link."""
    async with app.state.sessionmaker() as db:
        admin = await make.user(db, name="管理员", role="admin")
        a = await _side(db, "甲")
        b = await _side(db, "乙")
        cookies = {role: await _session_cookie(db, a.users[role]) for role in a.users}
        cookies[Role.ADMIN] = await _session_cookie(db, admin)
        await db.commit()
        await _credentials(db, a, admin)
        await _credentials(db, b, None)
        b.credentials[Role.ADMIN] = b.credentials[Role.REP]  # someone else's passkey
        newbie = await make.user(db, name="新同事", role="rep", team=a.field_team)
        token = await enrolment_create(
            db, user_id=newbie.id, created_by=admin.id, ttl_hours=24, now=utcnow()
        )
        await db.commit()
    req.cookies.update(cookies)
    await req.fetch_csrf()
    req.be(Role.ADMIN)
    response = await req.request(
        "POST",
        "/admin/custom-fields",
        {"key": "matrix_field", "label_en": "Matrix", "label_zh": "矩阵", "kind": "text"},
    )
    assert response.status_code == 303, response.text
    async with app.state.sessionmaker() as db:
        field_id = (
            await db.execute(
                select(CustomFieldDefinition.id).where(CustomFieldDefinition.key == "matrix_field")
            )
        ).scalar_one()
        b_cookies = {role: await _session_cookie(db, b.users[role]) for role in b.users}
        privacy = PrivacyRequest(
            requester="张先生",
            channel="phone",
            kind="access",
            subject="13900000000",
            received_on=utcnow().date(),
            due_on=utcnow().date() + timedelta(days=15),
            created_by=admin.id,
        )
        db.add(privacy)
        await db.commit()
    # Each role authors a visit on its own customer, on both sides (B's by B's people).
    for side, side_cookies in ((a, {}), (b, b_cookies)):
        req.cookies.update(side_cookies)
        for role in ROLES:
            side.visits[role] = await _visit(req, role, side.customers[role])
    req.cookies.update(cookies)
    return World(a, b, admin, field_id, token, cookies, privacy.id)


def _routes(app) -> list[tuple[str, str, object]]:
    """Every (method, path, handler) of the app, except Litestar's automatic OPTIONS."""
    found = []
    for route in app.routes:
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method == "OPTIONS" and handler.name is None:
                    continue
                found.append((method, route.path, handler))
    return found


def _params(handler) -> set[str]:
    """The handler's own parameters (path and query)."""
    return set(handler.parsed_fn_signature.parameters)


def url_for(app, world: World, handler, who: Role | None, scope: str) -> str:
    """The URL of a route filled with the objects of `who` on their own or the other side."""
    side = world.b if scope == "other" else world.a
    role = who or Role.ADMIN
    values = {
        "customer_id": side.customers[role],
        "contact_id": side.contacts[role],
        "visit_id": side.visits[role],
        "credential_pk": side.credentials[role],
        "user_id": world.a.spare.id,
        "field_id": world.field_id,
        "code": "called",
        "request_id": side.request_id,
        "stage": "proposal",
        "rid": world.privacy_request_id,
        "cid": side.customers[Role.ADMIN],
        "token": world.enrol_token,
        "path": "no-such-page",
        "job_id": side.job_id,
    }
    if handler.name == "sales.withdraw":  # the request belongs to its own customer
        values["customer_id"] = side.request_customer
    params = _params(handler)
    path_values = {k: v for k, v in values.items() if k in params and k != "team"}
    url = app.route_reverse(handler.name, **path_values)
    query = {}
    team = side.store if role == Role.CLERK else side.field_team
    if "team" in params:
        query["team"] = team.id
    if "rep" in params:
        query["rep"] = side.users[Role.REP].id
    if "what" in params:
        query["what"] = "visits"
    if "to" in params:  # the sales confirm pages: a stage or a status to move to
        query["to"] = "intent" if handler.name == "sales.status_confirm" else "first_contact"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


_numbers = itertools.count(1)


def fill(name: str, world: World, who: Role | None) -> dict | None:
    """Valid values for a POST route's form (None: the route takes a JSON body)."""
    n = next(_numbers)
    team_id = str(world.a.field_team.id)
    values = {
        "customers.create": {
            "name": f"矩阵客户{n}",
            "phone": f"139{n:08d}",
            "level": "B",
            "source": "referral",
            **({"team_id": team_id, "owner_id": ""} if who == Role.ADMIN else {}),
        },
        # 136: a prefix tests.factories never gives (its customers get 137...), so no duplicate.
        "customers.update": {"phone": f"136{n:08d}"},
        "customers.contact_add": {"name": f"新联系人{n}"},
        "visits.record": {"outcome": "called", "idempotency_key": uuid.uuid4().hex},
        "visits.amount": {"amount": "12"},
        "visits.sync": {
            "customer_id": str(world.a.customers[who or Role.REP]),
            "outcome": "called",
            "idempotency_key": uuid.uuid4().hex,
        },
        "admin.visit_clock.save": {"device_max_age_hours": "72"},
        "counter.create": {"name": f"门店客户{n}", "phone": f"138{n:08d}"},
        "admin_users.create": {"name": f"新人{n}", "role": "rep", "team_id": team_id},
        "custom_fields.create": {
            "key": f"mx{n}",
            "label_en": f"Field {n}",
            "label_zh": f"字段{n}",
            "kind": "text",
        },
        "admin.outcomes.add": {
            "code": f"mx_{n}",
            "label_en": f"Outcome {n}",
            "label_zh": f"结果{n}",
            "method": "field",
            "position": "100",
        },
        "settings.passkey_rename": {"name": "My phone"},
        "sales.stage_change": {"to": "first_contact"},
        "sales.status_change": {"to": "intent"},
        "approvals.decide": {"decision": "reject"},
        "privacy.request_add": {
            "requester": f"请求人{n}",
            "subject": f"139{n:08d}",
            "channel": "phone",
            "kind": "access",
        },
        "privacy.request_close": {"status": "answered", "reason": "已答复"},
        "privacy.settings": {"due_days": "15", "retention_days": "180"},
        "privacy.erase": {"confirm": "yes"},
        "pool.release": {"reason": "矩阵测试"},
        "pool.handover_confirm": {"mode": "pool"},
        "pool.reassign_confirm": {"owner": "pool", "to": "pool"},  # the pool to the pool: no-op
        "language.set": {"locale": "en", "next": "/"},
        "imports.upload": {"team_id": team_id},
    }
    if name in CEREMONY or name.endswith("options"):
        return None
    return values.get(name, {})


def scrape_form(html: str, action: str) -> dict[str, str]:
    """The fields of the form posting to `action`, with the values the page shows."""
    tree = LexborHTMLParser(html)
    for form in tree.css("form"):
        if form.attributes.get("action") != action:
            continue
        data: dict[str, str] = {}
        for node in form.css("input[name], select[name], textarea[name]"):
            name = node.attributes["name"]
            kind = (node.attributes.get("type") or "").lower()
            if node.tag == "select":
                chosen = node.css_first("option[selected]") or node.css_first("option")
                data[name] = (chosen.attributes.get("value") or "") if chosen else ""
            elif node.tag == "textarea":
                data[name] = node.text()
            elif kind in ("checkbox", "radio"):
                if "checked" in node.attributes:
                    data[name] = node.attributes.get("value") or "on"
            elif kind not in ("submit", "button"):
                data[name] = node.attributes.get("value") or ""
        return data
    return {}


def expected(name: str, who: Role | None, scope: str, handler) -> str:
    """What the declared policy (and the handler rules above) say the answer must be."""
    if name in ALWAYS:
        return ALWAYS[name]
    policy = access.ROUTES[name]
    if who is None:
        return ALLOWED if policy.public else LOGIN
    if not policy.allows(who):
        return FORBIDDEN
    if (name, who) in ROLE_RULES:
        return ROLE_RULES[(name, who)]
    if scope == "other" and (who != Role.ADMIN or name in PERSONAL):
        return OTHER_TEAM.get(name, NOT_FOUND)
    return ALLOWED


def outcome(name: str, response) -> str:
    """Classify an answer as allowed, 403, 404, sign-in, or its status code."""
    status = response.status_code
    location = response.headers.get("location", "")
    if status in (302, 303) and location.startswith("/login?next="):
        return LOGIN
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if 200 <= status < 400:
        return ALLOWED
    if name in CEREMONY and status == 400 and "json" in response.headers.get("content-type", ""):
        return ALLOWED  # the handler itself answered: access was granted
    return str(status)


def _cases(app) -> list[tuple[str, str, object, Role | None, str]]:
    """(method, path, handler, who, scope) for the whole matrix, destructive routes last."""
    cases = []
    for method, path, handler in _routes(app):
        scoped = bool(_params(handler) & SCOPED_PARAMS)
        for who in (None, *ROLES):
            for scope in ("own", "other") if scoped and who is not None else ("own",):
                cases.append((method, path, handler, who, scope))
    rank = {name: i for i, name in enumerate(LAST)}
    return sorted(cases, key=lambda c: rank.get(c[2].name, -1))


def test_every_route_of_the_app_has_a_declared_policy(matrix_settings):
    app = create_app(matrix_settings)
    missing = sorted(
        f"{method} {path} ({handler.name})"
        for method, path, handler in _routes(app)
        if access.policy_of(handler) is None
    )
    assert not missing, f"routes without an access policy in web/core/access.py: {missing}"


async def test_a_route_without_a_policy_is_refused_and_logged(matrix_settings, caplog):
    @get("/unlisted", name="unlisted", sync_to_thread=False)
    def unlisted() -> str:
        return "secret"

    app = create_app(matrix_settings)
    app.register(unlisted)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/unlisted")
    assert response.status_code == 403
    assert "secret" not in response.text
    assert any("unlisted" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


async def test_access_matrix_matches_the_declared_policy(matrix_settings):
    app = create_app(matrix_settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        req = Requester(client, {}, app.state.settings.secret_key)
        world = await build_world(app, req)
        mismatches = []
        for method, _path, handler, who, scope in _cases(app):
            name = handler.name
            req.be(who)
            url = url_for(app, world, handler, who, scope)
            data = fill(name, world, who)
            if method == "POST" and name in FORM_PAGES and data is not None:
                page_url = url_for(app, world, _handler(app, FORM_PAGES[name]), who, scope)
                page = await req.request("GET", page_url)
                data = {**scrape_form(page.text, url.split("?")[0]), **data}
            if method == "GET":
                response = await req.request("GET", url)
            elif name in FILES:
                response = await req.request(method, url, data, files={"file": FILES[name]})
            elif data is None:
                response = await req.request(method, url, json={})
            else:
                response = await req.request(method, url, data)
            got = outcome(name, response)
            want = expected(name, who, scope, handler)
            if got != want:
                role = who.value if who else "signed-out"
                mismatches.append(f"{method} {url} [{name}] as {role}/{scope}: {got}, want {want}")
    assert not mismatches, "\n".join(mismatches)


def _handler(app, name: str):
    """The route handler with this name."""
    for _method, _path, handler in _routes(app):
        if handler.name == name:
            return handler
    raise KeyError(name)
