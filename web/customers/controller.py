"""Customers: list, search, the customer page, create and edit, contacts.

Handlers parse the form, ask the domain to validate, call db/, commit and respond.
Row-level visibility lives in the db queries; a customer the user may not see is a 404
on every URL here.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.custom_fields import custom_field_defs, custom_field_list
from db.customers import (
    DuplicateCustomer,
    DuplicateMatch,
    OwnerChoice,
    contact_add,
    contact_delete,
    contact_get,
    contact_list,
    contact_update,
    customer_create,
    customer_duplicates,
    customer_get_for_update,
    customer_list,
    customer_owner_choices,
    customer_page,
    customer_team_choices,
    customer_update,
    customer_values,
    input_values,
)
from db.models import Customer
from db.search import customer_search
from db.visibility import customer_get_visible
from domain.contacts import validate_contact
from domain.customers import CustomFieldDef, completeness, missing_recommended, validate_customer
from domain.edits import plan_edit
from domain.enums import Role
from domain.ownership import (
    Candidate,
    default_owner_id,
    may_choose_owner,
    may_reassign,
    owner_allowed,
)
from domain.phones import format_phone_display, phone_digits_query
from domain.users import Actor, can_view
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form
from web.core.guards import require_user
from web.core.htmx import flash, fragment_or_redirect, render, see_other
from web.core.i18n import N_
from web.core.i18n import gettext as _
from web.core.settings import Settings
from web.sales.context import sales_panel_context
from web.visits.panel import note_view, visit_panel_context

PER_PAGE = 50
SALES_FIELDS = ("stage", "status", "loss_reason")
MSG_OWNER = N_("Choose an owner from the list.")
MSG_TEAM = N_("Choose a team.")
MSG_DUP_PHONE_HIDDEN_TEAM = N_(
    "A customer with this phone already exists in another team; ask your manager."
)
MSG_DUP_PHONE_HIDDEN_OWNER = N_(
    "A customer with this phone already exists and belongs to a colleague; ask your manager."
)
MSG_DUP_NAME_HIDDEN_TEAM = N_(
    "A customer with this name already exists in another team; ask your manager."
)
MSG_DUP_NAME_HIDDEN_OWNER = N_(
    "A customer with this name already exists and belongs to a colleague; ask your manager."
)


def _form_text(data: dict[str, Any]) -> dict[str, str]:
    """Return the submitted form as plain strings (a repeated key keeps its last value)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list):
            value = value[-1] if value else ""
        out[key] = "" if value is None else str(value)
    return out


def _yuan(cents: int | None) -> str:
    """Return cents as the yuan amount a person types ("12000", "12000.5")."""
    if cents is None:
        return ""
    amount = (Decimal(cents) / 100).normalize()
    return format(amount, "f")


def _raw_from_values(values: dict[str, Any]) -> dict[str, str]:
    """Turn stored (flat) customer values into the strings the form inputs show."""
    raw: dict[str, str] = {}
    for name, value in values.items():
        if name == "expected_amount_cents":
            raw["expected_amount"] = _yuan(value)
        elif name == "phone":
            raw["phone"] = format_phone_display(value or "")
        elif name == "tags":
            raw["tags"] = ", ".join(value or [])
        else:
            raw[name] = "" if value is None else str(value)
    return raw


def _input_name(field: str) -> str:
    """Return the form input that edits a stored field."""
    return "expected_amount" if field == "expected_amount_cents" else field


@dataclass(frozen=True)
class DuplicateNotice:
    """What the duplicate warning shows: visible matches, and messages for hidden ones."""

    visible: list[DuplicateMatch]
    hidden_messages: list[str]


def duplicate_notice(actor: Actor, matches: list[DuplicateMatch]) -> DuplicateNotice:
    """Split matches into what the user may open and what they may only be told about."""
    visible = [m for m in matches if can_view(actor, owner_id=m.owner_id, team_id=m.team_id)]
    hidden: list[str] = []
    for m in matches:
        if m in visible:
            continue
        other_team = m.team_id != actor.team_id
        if m.same_phone:
            msg = MSG_DUP_PHONE_HIDDEN_TEAM if other_team else MSG_DUP_PHONE_HIDDEN_OWNER
        else:
            msg = MSG_DUP_NAME_HIDDEN_TEAM if other_team else MSG_DUP_NAME_HIDDEN_OWNER
        if msg not in hidden:
            hidden.append(msg)
    return DuplicateNotice(visible=visible, hidden_messages=hidden)


# The counter page (web/counter.py) imports it under its first name.
_duplicate_notice = duplicate_notice


def _parse_int(raw: str | None) -> int | None:
    """Return an integer form value, None when empty or not a number."""
    try:
        return int(str(raw).strip()) if raw not in (None, "") else None
    except ValueError:
        return None


class CustomerController(Controller):
    """Everything under /customers."""

    path = "/customers"
    guards = [require_user]

    # --- list and search ---------------------------------------------------------------

    @get("/", name="customers.list")
    async def index(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        q: str | None = None,
        page: int = 1,
    ) -> Template:
        """The customer list (or, with ?q=, search results: what the search box submits)."""
        if q and q.strip():
            return await self._search(request, db, actor, q.strip())
        rows, more = await customer_list(db, actor=actor, page=page, per_page=PER_PAGE)
        context = {
            "active": "customers",
            "items": rows,
            "page": max(1, page),
            "more": more,
            "q": "",
            "labels": labels,
        }
        return render(
            request, "pages/customers/list.html", context, partial="partials/customers/list.html"
        )

    @get("/search", name="customers.search")
    async def search(
        self, request: Request, db: AsyncSession, actor: Actor, q: str | None = None
    ) -> Template:
        """Search as you type: the results fragment for HTMX, the results page otherwise."""
        return await self._search(request, db, actor, (q or "").strip())

    async def _search(self, request: Request, db: AsyncSession, actor: Actor, q: str) -> Template:
        """Run a search and render the page or the fragment."""
        hits = await customer_search(db, actor=actor, q=q) if q else []
        prefill = {"phone": q} if phone_digits_query(q) else {"name": q}
        context = {
            "active": "customers",
            "q": q,
            "hits": hits,
            "items": hits,
            "page": 1,
            "more": False,
            "labels": labels,
            "new_query": urlencode(prefill),
        }
        return render(
            request,
            "pages/customers/list.html",
            context,
            partial="partials/customers/search_results.html",
        )

    # --- the customer page ---------------------------------------------------------------

    @get("/{customer_id:int}", name="customers.detail")
    async def detail(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The customer page: who, how to reach them, the Visits region, then the details."""
        page = await customer_page(db, actor=actor, customer_id=customer_id)
        if page is None:
            raise NotFoundException()
        visits = await visit_panel_context(db, actor=actor, customer=page.customer)
        c = page.customer
        filled = {**c.model_dump(), "tags": c.tags}
        context = {
            "active": "customers",
            "page": page,
            "c": c,
            "labels": labels,
            "phone_display": format_phone_display(c.phone),
            "score": completeness(filled),
            "missing": [labels.field(_input_name(f)) for f in missing_recommended(filled)],
            "contacts": page.contacts,
            "contact_values": {},
            "contact_errors": {},
            **visits,
            **await sales_panel_context(db, actor=actor, customer=c),
        }
        view = note_view(request, actor=actor, customer_id=customer_id, audited=True)
        return render(request, "pages/customers/detail.html", context, background=view)

    @get("/{customer_id:int}/follow-up", name="customers.follow_up")
    async def follow_up(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template | Redirect:
        """The next follow-up line alone, for the page to refresh after a visit."""
        customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
        if customer is None:
            raise NotFoundException()
        return fragment_or_redirect(
            request,
            "partials/customers/follow_up.html",
            {"c": customer},
            page_url=request.app.route_reverse("customers.detail", customer_id=customer_id),
        )

    # --- create ------------------------------------------------------------------------

    async def _form_context(
        self,
        db: AsyncSession,
        actor: Actor,
        *,
        mode: str,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        customer: Customer | None = None,
        fields: list[CustomFieldDef],
        duplicates: DuplicateNotice | None = None,
        conflicts: list[tuple[str, str, str]] | None = None,
        stale: bool = False,
        version: int | None = None,
        original: str = "",
    ) -> dict:
        """Everything customer_form.html needs."""
        team_id = customer.team_id if customer else actor.team_id
        owners: list[OwnerChoice] = []
        teams: list[tuple[int, str]] = []
        choose_owner = may_choose_owner(actor) if mode == "new" else may_reassign(actor)
        if choose_owner and actor.role != Role.CLERK:
            owners = await customer_owner_choices(
                db,
                team_id=None if actor.role == Role.ADMIN and mode == "new" else team_id,
                include_id=customer.owner_id if customer else None,
            )
        if actor.role == Role.ADMIN and mode == "new":
            teams = await customer_team_choices(db)
        if actor.role == Role.CLERK:
            owner_options = [(actor.id, _("Me (%(name)s)", name=actor.name))]
            owner_blank = _("The store (no single owner)")
        else:
            owner_options = [
                (o.id, f"{o.name} · {o.team_name}" if teams else o.name) for o in owners
            ]
            owner_blank = _("Public pool (no owner)")
        return {
            "active": "customers",
            "mode": mode,
            "values": values,
            "errors": errors or {},
            "customer": customer,
            "fields": fields,
            "labels": labels,
            "owners": owners,
            "teams": teams,
            "choose_owner": choose_owner,
            "owner_options": owner_options,
            "owner_blank": owner_blank,
            "duplicates": duplicates,
            "conflicts": conflicts or [],
            "stale": stale or bool(conflicts),
            "version": version,
            "original": original,
        }

    @get("/new", name="customers.new")
    async def new(
        self, request: Request, db: AsyncSession, actor: Actor, name: str = "", phone: str = ""
    ) -> Template:
        """The new customer form (name or phone may be pre-filled, e.g. from a search)."""
        self._require_team(actor)
        fields = custom_field_defs(await custom_field_list(db))
        values = {"name": name, "phone": phone, "level": "C", "kind": "company"}
        if actor.role == Role.CLERK:
            values.update(kind="person", source="walk_in")
        context = await self._form_context(db, actor, mode="new", values=values, fields=fields)
        return render(
            request, "pages/customers/new.html", context, partial="partials/customers/form.html"
        )

    @staticmethod
    def _require_team(actor: Actor) -> None:
        """Only admins act without a team; a teamless user cannot own customers."""
        if actor.role != Role.ADMIN and actor.team_id is None:
            raise PermissionDeniedException()

    async def _placement(
        self, db: AsyncSession, actor: Actor, form: dict[str, str]
    ) -> tuple[int | None, int | None, dict[str, str]]:
        """Decide a new customer's team and owner from the role and the form."""
        errors: dict[str, str] = {}
        if actor.role == Role.ADMIN:
            team_id = _parse_int(form.get("team_id"))
            teams = {t for t, _n in await customer_team_choices(db)}
            if team_id not in teams:
                errors["team_id"] = MSG_TEAM
                return None, None, errors
        else:
            team_id = actor.team_id
        if not may_choose_owner(actor):
            return team_id, default_owner_id(actor), errors
        owner_id = _parse_int(form.get("owner_id"))
        owner = None
        if owner_id is not None:
            if actor.role == Role.CLERK and owner_id == actor.id:
                owner = Candidate(id=actor.id, role=actor.role, team_id=actor.team_id)
            else:
                choices = await customer_owner_choices(db, team_id=team_id)
                found = next((o for o in choices if o.id == owner_id), None)
                owner = found.candidate if found else None
            if owner is None:
                errors["owner_id"] = MSG_OWNER
                return team_id, None, errors
        if not owner_allowed(actor, team_id=team_id, owner=owner):
            errors["owner_id"] = MSG_OWNER
        return team_id, owner_id, errors

    @post("/", name="customers.create")
    async def create(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save a new customer; on a likely duplicate show the existing ones first."""
        self._require_team(actor)
        form = _form_text(data)
        fields = custom_field_defs(await custom_field_list(db))
        customer_input, errors = validate_customer(form, fields)
        team_id, owner_id, placement_errors = await self._placement(db, actor, form)
        errors = {**errors, **placement_errors}
        if customer_input is None or errors or team_id is None:
            context = await self._form_context(
                db, actor, mode="new", values=form, errors=errors, fields=fields
            )
            return render(
                request,
                "pages/customers/new.html",
                context,
                partial="partials/customers/form.html",
                status_code=422,
            )
        try:
            customer = await customer_create(
                db,
                data=customer_input,
                team_id=team_id,
                owner_id=owner_id,
                created_by=actor.id,
                today=datetime.now(settings.tz).date(),
                allow_duplicate=form.get("confirm_duplicate") == "1",
                ip=client_ip(request),
            )
        except DuplicateCustomer as dup:
            await db.rollback()
            context = await self._form_context(
                db,
                actor,
                mode="new",
                values=form,
                fields=fields,
                duplicates=duplicate_notice(actor, dup.matches),
            )
            return render(
                request,
                "pages/customers/new.html",
                context,
                partial="partials/customers/form.html",
                status_code=422,
            )
        await db.commit()
        flash(request, _("Customer %(number)s saved.", number=customer.number))
        return see_other(
            request, request.app.route_reverse("customers.detail", customer_id=customer.id)
        )

    # --- edit ----------------------------------------------------------------------------

    async def _visible(self, db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
        """Return the customer as stored now, or answer 404."""
        customer = await customer_get_for_update(db, actor=actor, customer_id=customer_id)
        if customer is None:
            raise NotFoundException()
        return customer

    @get("/{customer_id:int}/edit", name="customers.edit")
    async def edit(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The edit form, carrying the version and values it was opened with."""
        customer = await self._visible(db, actor, customer_id)
        fields = custom_field_defs(await custom_field_list(db))
        current = customer_values(customer, fields)
        context = await self._form_context(
            db,
            actor,
            mode="edit",
            values=_raw_from_values(current),
            customer=customer,
            fields=fields,
            version=customer.version,
            original=json.dumps(current, ensure_ascii=False, default=str),
        )
        return render(
            request, "pages/customers/edit.html", context, partial="partials/customers/form.html"
        )

    @post("/{customer_id:int}/edit", name="customers.update")
    async def update(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save an edit; never overwrite what someone else saved after the form was opened."""
        customer = await self._visible(db, actor, customer_id)
        form = _form_text(data)
        fields = custom_field_defs(await custom_field_list(db))
        customer_input, errors = validate_customer(form, fields)
        owner_id = customer.owner_id
        if may_reassign(actor) and _parse_int(form.get("owner_id")) != customer.owner_id:
            owner_id = _parse_int(form.get("owner_id"))
            choices = await customer_owner_choices(db, team_id=customer.team_id)
            found = next((o for o in choices if o.id == owner_id), None)
            owner = found.candidate if found else None
            if (owner_id is not None and found is None) or not owner_allowed(
                actor, team_id=customer.team_id, owner=owner
            ):
                errors = {**errors, "owner_id": MSG_OWNER}
        version = _parse_int(form.get("version"))
        original_text = form.get("original", "")

        async def again(status: int, **extra) -> Template:
            context = await self._form_context(
                db,
                actor,
                mode="edit",
                customer=customer,
                fields=fields,
                version=extra.pop("version", version),
                original=extra.pop("original", original_text),
                **extra,
            )
            return render(
                request,
                "pages/customers/edit.html",
                context,
                partial="partials/customers/form.html",
                status_code=status,
            )

        if customer_input is None or errors:
            return await again(422, values=form, errors=errors)
        submitted = input_values(customer_input, fields, owner_id=owner_id)
        current = customer_values(customer, fields)
        # Stage and status change only through the sales process (web/sales/stages.py).
        submitted.update({k: current[k] for k in SALES_FIELDS})
        try:
            original = json.loads(original_text) if original_text else None
        except ValueError:
            original = None
        plan = plan_edit(
            opened_version=version,
            current_version=customer.version,
            original=original if isinstance(original, dict) else None,
            submitted=submitted,
            current=current,
        )
        if plan.conflicts:
            owners = {o.id: o.name for o in await customer_owner_choices(db, team_id=None)}
            rows = [
                (
                    labels.field(_input_name(name), fields),
                    labels.value(name, yours, owners),
                    labels.value(name, theirs, owners),
                )
                for name, (yours, theirs) in plan.conflicts.items()
            ]
            # Show theirs merged with this user's own edits, so saving again keeps what
            # the other person changed everywhere else.
            merged = _raw_from_values(current)
            merged.update({_input_name(k): form.get(_input_name(k), "") for k in plan.mine})
            return await again(
                409,
                values=merged,
                conflicts=rows,
                version=customer.version,
                original=json.dumps(current, ensure_ascii=False, default=str),
            )
        changes = plan.changes
        if ("name" in changes or "phone" in changes) and form.get("confirm_duplicate") != "1":
            matches = await customer_duplicates(
                db,
                phone=str(submitted["phone"]),
                name=str(submitted["name"]),
                exclude_id=customer.id,
            )
            if matches:
                return await again(422, values=form, duplicates=duplicate_notice(actor, matches))
        saved = await customer_update(
            db, customer=customer, changes=changes, user_id=actor.id, ip=client_ip(request)
        )
        if not saved:
            # Someone saved between our read and our write: tell the user, keep their input.
            await db.rollback()
            fresh = await self._visible(db, actor, customer_id)
            return await again(
                409,
                values=form,
                stale=True,
                version=fresh.version,
                original=json.dumps(
                    customer_values(fresh, fields), ensure_ascii=False, default=str
                ),
            )
        await db.commit()
        flash(request, _("Changes saved."))
        return see_other(
            request, request.app.route_reverse("customers.detail", customer_id=customer.id)
        )

    # --- contacts ----------------------------------------------------------------------

    @get("/{customer_id:int}/contacts", name="customers.contacts")
    async def contacts(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template | Redirect:
        """The contacts of a customer (a fragment for HTMX, the customer page otherwise)."""
        customer = await self._visible(db, actor, customer_id)
        context = {
            "c": customer,
            "contacts": await contact_list(db, customer_id=customer.id),
            "labels": labels,
            "contact_values": {},
            "contact_errors": {},
        }
        if request.headers.get("hx-request") != "true":
            return Redirect(
                path=request.app.route_reverse("customers.detail", customer_id=customer.id)
                + "#contacts",
                status_code=303,
            )
        return render(
            request,
            "partials/customers/contact_list.html",
            context,
            partial="partials/customers/contact_list.html",
        )

    @post("/{customer_id:int}/contacts", name="customers.contact_add")
    async def contact_create(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Add a contact; a mistake re-shows the form with the input kept."""
        customer = await self._visible(db, actor, customer_id)
        form = _form_text(data)
        contact_input, errors = validate_contact(form)
        if contact_input is None:
            context = {
                "c": customer,
                "contacts": await contact_list(db, customer_id=customer.id),
                "labels": labels,
                "contact_values": form,
                "contact_errors": errors,
                "active": "customers",
                "contact": None,
            }
            return render(
                request,
                "pages/customers/contact.html",
                context,
                partial="partials/customers/contact_list.html",
                status_code=422,
            )
        await contact_add(
            db,
            customer_id=customer.id,
            data=contact_input,
            user_id=actor.id,
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Contact added."))
        return see_other(
            request,
            request.app.route_reverse("customers.detail", customer_id=customer.id) + "#contacts",
        )

    async def _contact(self, db: AsyncSession, actor: Actor, customer_id: int, contact_id: int):
        """Return (customer, contact) or answer 404."""
        customer = await self._visible(db, actor, customer_id)
        contact = await contact_get(db, customer_id=customer.id, contact_id=contact_id)
        if contact is None:
            raise NotFoundException()
        return customer, contact

    @get("/{customer_id:int}/contacts/{contact_id:int}/edit", name="customers.contact_edit")
    async def contact_edit(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        contact_id: int,
    ) -> Template:
        """The form to change one contact."""
        customer, contact = await self._contact(db, actor, customer_id, contact_id)
        values = {
            "name": contact.name,
            "role": contact.role,
            "phone": format_phone_display(contact.phone),
            "email": contact.email,
            "note": contact.note,
        }
        context = {
            "active": "customers",
            "c": customer,
            "contact": contact,
            "contact_values": values,
            "contact_errors": {},
            "labels": labels,
        }
        return render(
            request,
            "pages/customers/contact.html",
            context,
            partial="partials/customers/contact_form.html",
        )

    @post("/{customer_id:int}/contacts/{contact_id:int}/edit", name="customers.contact_update")
    async def contact_save(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        contact_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save a changed contact."""
        customer, contact = await self._contact(db, actor, customer_id, contact_id)
        form = _form_text(data)
        contact_input, errors = validate_contact(form)
        if contact_input is None:
            context = {
                "active": "customers",
                "c": customer,
                "contact": contact,
                "contact_values": form,
                "contact_errors": errors,
                "labels": labels,
            }
            return render(
                request,
                "pages/customers/contact.html",
                context,
                partial="partials/customers/contact_form.html",
                status_code=422,
            )
        await contact_update(
            db, contact=contact, data=contact_input, user_id=actor.id, ip=client_ip(request)
        )
        await db.commit()
        flash(request, _("Contact saved."))
        return see_other(
            request,
            request.app.route_reverse("customers.detail", customer_id=customer.id) + "#contacts",
        )

    @post("/{customer_id:int}/contacts/{contact_id:int}/delete", name="customers.contact_delete")
    async def contact_remove(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        contact_id: int,
    ) -> Redirect | Response:
        """Remove a contact."""
        customer, contact = await self._contact(db, actor, customer_id, contact_id)
        await contact_delete(db, contact=contact, user_id=actor.id, ip=client_ip(request))
        await db.commit()
        flash(request, _("Contact removed."))
        return see_other(
            request,
            request.app.route_reverse("customers.detail", customer_id=customer.id) + "#contacts",
        )
