"""Customers: the new-customer form and the edit form (create, edit, save an edit).

Handlers read the form, ask domain/ for the decisions (validation, team and owner,
edit conflicts, duplicates), call db/, commit and respond.
"""

import json
from datetime import date, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.custom_fields import custom_field_defs_active
from db.customers import (
    DuplicateCustomer,
    customer_create,
    customer_duplicates,
    customer_owner_choices,
    customer_owner_get,
    customer_team_choices,
    customer_update,
    customer_values,
    input_values,
)
from db.models import Customer
from db.privacy import privacy_request_get
from domain.custom_fields import MSG_REQUIRED_SINCE, missing_required
from domain.customers import MSG_REQUIRED, CustomerInput, CustomFieldDef, validate_customer
from domain.duplicates import DuplicateNotice, duplicate_check_needed, duplicate_notice
from domain.edits import EditPlan, plan_edit
from domain.enums import Role
from domain.money import money_input_value
from domain.ownership import (
    Placement,
    may_choose_team,
    may_create,
    owner_field,
    place_new_customer,
    reassignment,
)
from domain.phones import format_phone_display
from domain.privacy import can_handle_requests
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field, fields
from web.core.guards import require_user
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _
from web.customers.access import customer_or_404

FORM = "partials/customers/form.html"
SALES_FIELDS = ("stage", "status", "loss_reason")


def input_name(name: str) -> str:
    """Return the form input that edits a stored field."""
    return "expected_amount" if name == "expected_amount_cents" else name


def _inputs(values: dict[str, Any]) -> dict[str, str]:
    """Turn stored (flat) customer values into the strings the form inputs show."""
    raw: dict[str, str] = {}
    for name, value in values.items():
        if name == "expected_amount_cents":
            raw["expected_amount"] = money_input_value(value)
        elif name == "phone":
            raw["phone"] = format_phone_display(value or "")
        elif name == "tags":
            raw["tags"] = ", ".join(value or [])
        else:
            raw[name] = "" if value is None else str(value)
    return raw


def _int_or_none(raw: str) -> int | None:
    """Return an integer form value, None when empty or not a number."""
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _snapshot(values: dict[str, Any]) -> str:
    """The values an edit form was opened with, carried in the form to detect conflicts."""
    return json.dumps(values, ensure_ascii=False, default=str)


def _opened_values(text: str) -> dict | None:
    """Read back a _snapshot() (None when it is missing or was tampered with)."""
    try:
        values = json.loads(text) if text else None
    except ValueError:
        return None
    return values if isinstance(values, dict) else None


def _confirmed(form: dict[str, str]) -> bool:
    """Whether the user chose to save although the duplicate warning was shown."""
    return form.get("confirm_duplicate") == "1"


def _detail_url(request: Request, customer_id: int) -> str:
    """The customer page, where a saved form goes."""
    return request.app.route_reverse("customers.detail", customer_id=customer_id)


async def _definitions(db: AsyncSession) -> list[CustomFieldDef]:
    """The active custom fields the form shows."""
    return await custom_field_defs_active(db)


async def customer_field_definitions(db: AsyncSession) -> list[CustomFieldDef]:
    """The active custom fields every form that creates a customer must ask for."""
    return await _definitions(db)


def named_errors(errors: dict[str, str], definitions: list[CustomFieldDef]) -> dict[str, str]:
    """Messages that name their field: a required field that blocks a save says which one."""
    return {
        name: _("Fill in %(field)s.", field=labels.field(name, definitions))
        if message == MSG_REQUIRED
        else message
        for name, message in errors.items()
    }


def validate_new_customer(
    form: dict[str, str], definitions: list[CustomFieldDef]
) -> tuple[CustomerInput | None, dict[str, str]]:
    """The one rule for a new customer, on the full form and at the counter's quick add."""
    customer_input, errors = validate_customer(form, definitions)
    return customer_input, named_errors(errors, definitions)


async def _form_context(
    db: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, str],
    definitions: list[CustomFieldDef],
    customer: Customer | None = None,
    errors: dict[str, str] | None = None,
    duplicates: DuplicateNotice | None = None,
    conflicts: list[tuple[str, str, str]] | None = None,
    stale: bool = False,
    version: int | None = None,
    original: str = "",
    privacy_request_id: int | None = None,
) -> dict:
    """Everything partials/customers/form.html needs (new form without `customer`)."""
    offer = owner_field(actor, new=customer is None)
    owners = []
    if offer.shown and not offer.self_only:
        team_id = None if offer.all_teams else (customer.team_id if customer else actor.team_id)
        include_id = customer.owner_id if customer else None
        owners = await customer_owner_choices(db, team_id=team_id, include_id=include_id)
    teams = await customer_team_choices(db) if offer.all_teams else []
    if offer.self_only:
        owner_options = [(actor.id, _("Me (%(name)s)", name=actor.name))]
        owner_blank = _("The store (no single owner)")
    else:
        owner_options = [(o.id, f"{o.name} · {o.team_name}" if teams else o.name) for o in owners]
        owner_blank = _("Public pool (no owner)")
    return {
        "active": "customers",
        "mode": "new" if customer is None else "edit",
        "values": values,
        "errors": errors or {},
        "customer": customer,
        "fields": definitions,
        "labels": labels,
        "owners": owners,
        "teams": teams,
        "choose_owner": offer.shown,
        "owner_options": owner_options,
        "owner_blank": owner_blank,
        "duplicates": duplicates,
        "conflicts": conflicts or [],
        "stale": stale or bool(conflicts),
        "version": version,
        "original": original,
        "privacy_request_id": privacy_request_id,
        # Required fields this customer lacks (made required later): the form says why.
        "required_later": {
            d.key: _(MSG_REQUIRED_SINCE)
            for d in (missing_required(definitions, customer.custom) if customer else [])
        },
    }


async def _placement(db: AsyncSession, actor: Actor, form: dict[str, str]) -> Placement:
    """Where the new customer goes: the domain decides from the role and what was asked."""
    owner_id = _int_or_none(form.get("owner_id", ""))
    teams = {t for t, _n in await customer_team_choices(db)} if may_choose_team(actor) else set()
    return place_new_customer(
        actor,
        team_id=_int_or_none(form.get("team_id", "")),
        owner_id=owner_id,
        owner=await customer_owner_get(db, user_id=owner_id),
        team_ids=teams,
    )


async def _owner_after_edit(
    db: AsyncSession, actor: Actor, customer: Customer, form: dict[str, str]
) -> tuple[int | None, dict[str, str]]:
    """The owner the edit asks for, and the error when the actor may not give it to them."""
    owner_id = _int_or_none(form.get("owner_id", ""))
    owner_id, error = reassignment(
        actor,
        team_id=customer.team_id,
        current_owner_id=customer.owner_id,
        owner_id=owner_id,
        owner=await customer_owner_get(db, user_id=owner_id),
    )
    return owner_id, ({"owner_id": error} if error else {})


class CustomerFormController(Controller):
    """The new-customer and edit forms under /customers."""

    path = "/"  # under /customers (web/customers/router.py)
    guards = [require_user]

    @get("/new", name="customers.new")
    async def new(
        self, request: Request, db: AsyncSession, actor: Actor, name: str = "", phone: str = ""
    ) -> Template:
        """The new customer form (name or phone may be pre-filled, e.g. from a search)."""
        _require_may_create(actor)
        values = {"name": name, "phone": phone, "level": "C", "kind": "company"}
        if actor.role == Role.CLERK:
            values.update(kind="person", source="walk_in")
        context = await _form_context(db, actor, values=values, definitions=await _definitions(db))
        return render(request, "pages/customers/new.html", context, partial=FORM)

    @post("/", name="customers.create")
    async def create(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        today: date,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save a new customer; on a likely duplicate show the existing ones first."""
        _require_may_create(actor)
        form = fields(data)
        definitions = await _definitions(db)
        customer_input, errors = validate_new_customer(form, definitions)
        placement = await _placement(db, actor, form)
        errors = {**errors, **placement.errors}
        if customer_input is None or errors or placement.team_id is None:
            return await _new_again(request, db, actor, form, definitions, errors=errors)
        try:
            customer = await customer_create(
                db,
                data=customer_input,
                team_id=placement.team_id,
                owner_id=placement.owner_id,
                created_by=actor.id,
                today=today,
                now=now,
                allow_duplicate=_confirmed(form),
                ip=client_ip(request),
            )
        except DuplicateCustomer as dup:
            await db.rollback()
            notice = duplicate_notice(actor, dup.matches)
            return await _new_again(request, db, actor, form, definitions, duplicates=notice)
        await db.commit()
        flash(request, _("Customer %(number)s saved.", number=customer.number))
        return see_other(request, _detail_url(request, customer.id))

    @get("/{customer_id:int}/edit", name="customers.edit")
    async def edit(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The edit form, carrying the version and values it was opened with."""
        customer = await customer_or_404(db, actor, customer_id)
        page = _EditPage(request, db, actor, customer, await _definitions(db), {})
        return await page.opened()

    @post("/{customer_id:int}/edit", name="customers.update")
    async def update(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        customer_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save an edit; never overwrite what someone else saved after the form was opened."""
        customer = await customer_or_404(db, actor, customer_id)
        form = fields(data)
        page = _EditPage(request, db, actor, customer, await _definitions(db), form)
        customer_input, errors = validate_customer(form, page.definitions)
        errors = named_errors(errors, page.definitions)
        owner_id, owner_error = await _owner_after_edit(db, actor, customer, form)
        if customer_input is None or errors or owner_error:
            return await page.again(422, values=form, errors={**errors, **owner_error})
        submitted, current = _submitted_and_current(customer, customer_input, page, owner_id)
        plan = plan_edit(
            opened_version=_int_or_none(form.get("version", "")),
            current_version=customer.version,
            original=_opened_values(form.get("original", "")),
            submitted=submitted,
            current=current,
        )
        if plan.conflicts:
            return await page.conflict(plan, current)
        check = duplicate_check_needed(plan.changes, confirmed=_confirmed(form))
        if check and (notice := await _duplicates(db, actor, customer, submitted)):
            return await page.again(422, values=form, duplicates=notice)
        audit = await _audit_context(request, db, actor, form)
        if not await customer_update(
            db, customer=customer, changes=plan.changes, user_id=actor.id, now=now, **audit
        ):
            return await page.stale()
        await db.commit()
        flash(request, _("Changes saved."))
        return see_other(request, _detail_url(request, customer.id))


def _submitted_and_current(
    customer: Customer, customer_input: CustomerInput, page: "_EditPage", owner_id: int | None
) -> tuple[dict, dict]:
    """The values the edit form asks for and the ones stored now, in the same shape."""
    submitted = input_values(customer_input, page.definitions, owner_id=owner_id)
    current = customer_values(customer, page.definitions)
    # Stage and status change only through the sales process (web/sales/stages.py).
    submitted.update({k: current[k] for k in SALES_FIELDS})
    return submitted, current


def _carried_request_id(request: Request, form: dict[str, str]) -> int | None:
    """The privacy request an edit corrects for: hidden field, or ?privacy_request= on opening."""
    raw = form.get("privacy_request_id") or request.query_params.get("privacy_request") or ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


async def _audit_context(
    request: Request, db: AsyncSession, actor: Actor, form: dict[str, str]
) -> dict[str, Any]:
    """Where the edit came from, for its audit event: the address and the privacy request.

    Only someone who handles privacy requests links an edit to one, and only to a request
    that exists, so a crafted field cannot attach corrections to a request.
    """
    audit: dict[str, Any] = {"ip": client_ip(request)}
    rid = _carried_request_id(request, form)
    known = rid is not None and await privacy_request_get(db, request_id=rid) is not None
    if known and can_handle_requests(actor):
        audit["privacy_request_id"] = rid
    return audit


def _require_may_create(actor: Actor) -> None:
    """Answer 403 to a user who may not create customers (a teamless non-admin)."""
    if not may_create(actor):
        raise PermissionDeniedException()


async def _new_again(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    form: dict[str, str],
    definitions: list[CustomFieldDef],
    **extra: Any,
) -> Template:
    """Show the new customer form again with the input kept (422)."""
    context = await _form_context(db, actor, values=form, definitions=definitions, **extra)
    return render(request, "pages/customers/new.html", context, partial=FORM, status_code=422)


async def _duplicates(
    db: AsyncSession, actor: Actor, customer: Customer, submitted: dict
) -> DuplicateNotice | None:
    """The duplicate warning for an edited name or phone, or None when nothing matches."""
    matches = await customer_duplicates(
        db, phone=str(submitted["phone"]), name=str(submitted["name"]), exclude_id=customer.id
    )
    return duplicate_notice(actor, matches) if matches else None


class _EditPage:
    """The edit form of one customer, shown when opened and again after a failed save."""

    def __init__(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer: Customer,
        definitions: list[CustomFieldDef],
        form: dict[str, str],
    ) -> None:
        """Keep what every rendering of the form needs; `form` is what was submitted."""
        self.request, self.db, self.actor = request, db, actor
        self.customer, self.definitions, self.form = customer, definitions, form

    async def _render(self, status: int, **context: Any) -> Template:
        """Render the form (the page, or the fragment for HTMX) with the given context."""
        context.setdefault("version", _int_or_none(self.form.get("version", "")))
        context.setdefault("original", self.form.get("original", ""))
        if can_handle_requests(self.actor):
            context.setdefault("privacy_request_id", _carried_request_id(self.request, self.form))
        full = await _form_context(
            self.db, self.actor, customer=self.customer, definitions=self.definitions, **context
        )
        return render(
            self.request, "pages/customers/edit.html", full, partial=FORM, status_code=status
        )

    async def opened(self) -> Template:
        """The form as opened: stored values, this version and a snapshot of them."""
        current = customer_values(self.customer, self.definitions)
        return await self._render(
            200, values=_inputs(current), version=self.customer.version, original=_snapshot(current)
        )

    async def again(self, status: int, **context: Any) -> Template:
        """The submitted form again (input kept), with errors or a duplicate warning."""
        return await self._render(status, **context)

    async def conflict(self, plan: EditPlan, current: dict) -> Template:
        """Someone saved after this form was opened: show both values of each clash (409).

        The form shows their values merged with this user's own edits, so saving again
        keeps what the other person changed everywhere else.
        """
        owners = {o.id: o.name for o in await customer_owner_choices(self.db, team_id=None)}
        rows = [
            (
                labels.field(input_name(name), self.definitions),
                labels.value(name, yours, owners),
                labels.value(name, theirs, owners),
            )
            for name, (yours, theirs) in plan.conflicts.items()
        ]
        merged = _inputs(current)
        merged.update({input_name(k): field(self.form, input_name(k)) for k in plan.mine})
        return await self._render(
            409,
            values=merged,
            conflicts=rows,
            version=self.customer.version,
            original=_snapshot(current),
        )

    async def stale(self) -> Template:
        """Someone saved between our read and our write: tell the user, keep their input (409)."""
        customer_id = self.customer.id  # read before the rollback expires the object
        await self.db.rollback()
        self.customer = fresh = await customer_or_404(self.db, self.actor, customer_id)
        return await self._render(
            409,
            values=self.form,
            stale=True,
            version=fresh.version,
            original=_snapshot(customer_values(fresh, self.definitions)),
        )
