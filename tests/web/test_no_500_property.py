"""Property: no input answers 500 (issue 19). Hostile values go to every route of the app.

Every GET route gets hostile values for each of its path and query parameters; every POST
route gets hostile and missing values for the fields of its forms (read from the forms the
pages render, so a new form is covered by itself), and bodies that are not valid UTF-8, as
an admin and as a rep. The answer must be below 500 and show no stack trace.
"""

import asyncio
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar.constants import RESERVED_KWARGS
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser

from db.credentials import credential_add
from db.customers import contact_add
from db.engine import make_engine, make_sessionmaker
from db.enrolment import enrolment_create
from db.sessions import session_save
from db.types import utcnow
from domain.contacts import validate_contact
from tests import factories as make
from web.app import create_app
from web.core.csrf import csrf_token_for
from web.core.sessions import COOKIE, hash_token
from web.core.settings import load_settings

# Hostile values, as the raw bytes that reach the server once percent-decoded.
HOSTILE: list[bytes] = [
    b"",
    b" ",
    b"\x00",
    b"ab\x00",
    b"\xff",
    b"\xed\xa0\x80",  # a lone surrogate (U+D800) encoded as if it were UTF-8
    b"\xc3",  # a truncated UTF-8 sequence
    str(2**63).encode(),
    str(-(2**63) - 1).encode(),
    str(10**40).encode(),
    b"-1",
    b"0",
    b"1e309",
    b"NaN",
    b"9999-W52",
    b"0001-W01",
    b"2026-W54",
    b"2026-W00",
    "上海华东机械".encode(),
    "\u202eevil\u202c".encode(),  # right-to-left override
    b"x" * 3000,
    b"<script>alert(1)</script>'\"",
    b"../../etc/passwd",
    b"%",
    b"[]",
]
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.binary(max_size=24),
    st.text(max_size=24).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")
NOT_QUERY = set(RESERVED_KWARGS) | {"db", "actor", "settings", "now", "today"}
# Fields posted to a route whose form no page shows (JSON ceremonies, inline forms).
GENERIC_FIELDS = ["name", "phone", "amount", "outcome", "q", "next", "credential"]


@dataclass
class World:
    """The app under test, a client, valid ids for path parameters, and the forms seen."""

    client: TestClient
    app: object
    db_url: str
    users: dict[str, int]
    ids: dict[str, object]
    forms: dict[str, list[str]]  # POST route name -> field names seen in its forms
    csrf: str


async def _seed(url: str) -> dict:
    """Create the team, an admin and a rep with a customer, contact, passkeys and a link."""
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    try:
        async with maker() as db:
            team = await make.team(db)
            admin = await make.user(db, name="Admin", role="admin")
            rep = await make.user(db, name="陈静", role="rep", team=team)
            spare = await make.user(db, name="备用", role="rep", team=team)
            customer = await make.customer(db, team=team, owner=rep, name="上海华东机械有限公司")
            contact_input, _errors = validate_contact({"name": "王经理"})
            contact = await contact_add(
                db, customer_id=customer.id, data=contact_input, user_id=rep.id
            )
            creds = {}
            for user in (admin, rep):
                for n in range(2):
                    row = await credential_add(
                        db,
                        user_id=user.id,
                        credential_id=secrets.token_bytes(16),
                        public_key=secrets.token_bytes(64),
                        sign_count=0,
                        transports=[],
                        name=f"key {n}",
                        now=utcnow(),
                    )
                    creds.setdefault(user.id, row.id)
            token = await enrolment_create(
                db, user_id=spare.id, created_by=admin.id, ttl_hours=24, now=utcnow()
            )
            await db.commit()
            return {
                "users": {"admin": admin.id, "rep": rep.id},
                "ids": {
                    "customer_id": customer.id,
                    "contact_id": contact.id,
                    "user_id": spare.id,
                    "team": team.id,
                    "rep": rep.id,
                    "token": token,
                    "code": "called",
                    "path": "no-such-page",
                    "what": "visits",
                    "credential_pk": creds[rep.id],
                },
            }
    finally:
        await engine.dispose()


def new_session(world_url: str, user_id: int) -> str:
    """A fresh server-side session for a user (a POST may have ended the last one)."""

    async def save() -> str:
        engine = make_engine(world_url)
        try:
            async with make_sessionmaker(engine)() as db:
                token = secrets.token_urlsafe(32)
                await session_save(
                    db,
                    id_hash=hash_token(token),
                    user_id=user_id,
                    data={},
                    expires_at=utcnow() + timedelta(days=1),
                )
                await db.commit()
                return token
        finally:
            await engine.dispose()

    return asyncio.run(save())


def _routes(app, method: str) -> list:
    """(path template, handler) of every route answering `method`."""
    found = []
    for route in app.routes:
        for handler in route.route_handlers:
            if method in handler.http_methods and handler.name:
                found.append((route.path, handler))
    return found


def _path_params(template: str) -> list[str]:
    """The parameter names of a path template like /customers/{customer_id:int}."""
    return re.findall(r"{(\w+):\w+}", template)


def _query_params(template: str, handler) -> list[str]:
    """The query parameters a handler declares (not path parameters or dependencies)."""
    names = set(handler.parsed_fn_signature.parameters) - NOT_QUERY
    return sorted(names - set(_path_params(template)))


def _url(template: str, values: dict[str, bytes], query: dict[str, bytes]) -> str:
    """Fill a path template and append a query string, percent-encoding raw bytes."""

    def fill(match: re.Match) -> str:
        return quote_from_bytes(values[match.group(1)], safe="")

    path = re.sub(r"{(\w+):\w+}", fill, template)
    if query:
        path += "?" + "&".join(f"{k}={quote_from_bytes(v, safe='')}" for k, v in query.items())
    return path


def _valid(world: World, name: str) -> bytes:
    """A valid value for a path or query parameter."""
    return str(world.ids.get(name, "1")).encode()


def _scrape_forms(world: World, role: str) -> None:
    """Open every GET page with valid ids and note the fields of each POST form on it."""
    client = world.client
    _sign(world, role)
    for template, _handler in _routes(world.app, "GET"):
        values = {p: _valid(world, p) for p in _path_params(template)}
        response = client.get(_url(template, values, {}))
        for form in LexborHTMLParser(response.text).css("form[method=post]"):
            action = form.attributes.get("action") or ""
            try:
                target = world.app.asgi_router.handle_routing(path=action, method="POST")[1]
            except Exception:  # noqa: S112 - a form posting elsewhere is not ours to test
                continue
            names = world.forms.setdefault(target.name, [])
            for node in form.css("input[name], select[name], textarea[name], button[name]"):
                field = node.attributes["name"]
                if field != "_csrf_token" and field not in names:
                    names.append(field)


@pytest.fixture(scope="module")
def world(tmp_path_factory, new_database):
    """One app and world for the module: hostile input must not change what it serves."""
    tmp = tmp_path_factory.mktemp("no500")
    url = new_database(tmp)
    seeded = asyncio.run(_seed(url))
    app = create_app(
        load_settings(
            {
                "KEHU_DATABASE_URL": url,
                "KEHU_SECRET_KEY": "test-secret-" + "x" * 40,
                "KEHU_ORIGIN": "http://localhost:8000",
                "KEHU_RATE_LIMIT_PER_MINUTE": "100000",
            },
            workdir=tmp,
        )
    )
    with TestClient(app=app, base_url="http://localhost:8000") as client:
        page = LexborHTMLParser(client.get("/login").text)
        csrf = page.css_first("input[name=_csrf_token]").attributes["value"]
        w = World(client, app, url, seeded["users"], seeded["ids"], {}, csrf)
        _sign(w, "rep")
        visit = client.post(
            f"/customers/{w.ids['customer_id']}/visits",
            data={"outcome": "called", "idempotency_key": uuid.uuid4().hex},
            headers={"HX-Request": "true", "x-csrftoken": w.csrf},
        )
        w.ids["visit_id"] = re.search(r'id="visit-(\d+)"', visit.text).group(1)
        _sign(w, "admin")
        client.post(
            "/admin/custom-fields",
            data={"key": "size", "label_en": "Size", "label_zh": "规模", "kind": "text"},
            headers={"x-csrftoken": w.csrf},
        )
        w.ids["field_id"] = "1"
        for role in ("admin", "rep"):
            _scrape_forms(w, role)
        yield w


def check(response, what: str) -> None:
    """The property: a client error at worst, and never a stack trace."""
    assert response.status_code < 500, f"{what} answered {response.status_code}"
    assert not TRACE.search(response.text), f"{what} shows a stack trace"


def _sign(world: World, role: str) -> None:
    """Act as `role` with a fresh session (and that session's CSRF token)."""
    token = new_session(world.db_url, world.users[role])
    world.client.cookies.set(COOKIE, token)
    world.csrf = csrf_token_for(world.app.state.settings.secret_key, token)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a failure is quick
)
@given(data=st.data(), role=st.sampled_from(["admin", "rep"]))
def test_get_routes_never_answer_500(world, data, role):
    _sign(world, role)
    for template, handler in _routes(world.app, "GET"):
        values = {
            p: data.draw(st.one_of(st.just(_valid(world, p)), hostile))
            for p in _path_params(template)
        }
        query = {q: data.draw(hostile) for q in _query_params(template, handler)}
        url = _url(template, values, query)
        for headers in ({}, {"HX-Request": "true"}):
            check(world.client.get(url, headers=headers), f"GET {url} as {role}")


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a failure is quick
)
@given(data=st.data(), role=st.sampled_from(["admin", "rep"]))
def test_post_routes_never_answer_500(world, data, role):
    for template, handler in _routes(world.app, "POST"):
        if handler.name == "auth.logout":
            continue  # takes no input; it would end the session the other routes need
        _sign(world, role)
        values = {
            p: data.draw(st.one_of(st.just(_valid(world, p)), hostile))
            for p in _path_params(template)
        }
        fields = world.forms.get(handler.name) or GENERIC_FIELDS
        sent = data.draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
        body = "&".join(
            f"{quote(name)}={quote_from_bytes(data.draw(hostile), safe='')}" for name in sent
        )
        url = _url(template, values, {})
        response = world.client.post(
            url,
            content=body.encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-csrftoken": world.csrf,
                **data.draw(st.sampled_from([{}, {"HX-Request": "true"}])),
            },
        )
        check(response, f"POST {url} {sent} as {role}")


@pytest.mark.parametrize("role", ["admin", "rep"])
def test_post_bodies_that_are_not_utf8_never_answer_500(world, role):
    for template, handler in _routes(world.app, "POST"):
        if handler.name == "auth.logout":
            continue
        _sign(world, role)
        url = _url(template, {p: _valid(world, p) for p in _path_params(template)}, {})
        field = (world.forms.get(handler.name) or GENERIC_FIELDS)[0]
        bodies = [
            ("application/x-www-form-urlencoded", f"{field}=%FF%FE&x=\x00".encode()),
            ("application/x-www-form-urlencoded", b"\xff\xfe=\xc3"),
            (
                "multipart/form-data; boundary=XX",
                b'--XX\r\nContent-Disposition: form-data; name="'
                + field.encode()
                + b'"\r\n\r\n\xff\xfe\xed\xa0\x80\r\n--XX--\r\n',
            ),
            ("multipart/form-data; boundary=XX", b"--XX\r\nbroken"),
            ("application/json", b'{"credential": "\xff"'),
        ]
        for content_type, body in bodies:
            response = world.client.post(
                url, content=body, headers={"content-type": content_type, "x-csrftoken": world.csrf}
            )
            check(response, f"POST {url} ({content_type}) as {role}")
