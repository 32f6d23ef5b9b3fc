"""Customers: the contacts of a customer (list, add, change, remove)."""

from collections.abc import Sequence
from datetime import datetime

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import Row
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import contact_add, contact_delete, contact_get, contact_list, contact_update
from db.models import Contact, Customer
from domain.contacts import validate_contact
from domain.phones import format_phone_display
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, fields
from web.core.guards import require_user
from web.core.htmx import flash, fragment_or_redirect, render, see_other
from web.core.i18n import current_locale
from web.core.i18n import gettext as _
from web.customers.access import customer_or_404

PAGE = "pages/customers/contact.html"
LIST = "partials/contacts/list.html"
FORM = "partials/contacts/form.html"
FIELDS = "partials/contacts/fields.html"

# The add-contact form's empty fields by language: the same for every customer and viewer
# (ids, labels, role options), yet rendering their macros was ~6 % of a customer page.
_BLANK_FIELDS: dict[str, Markup] = {}


@pass_context
def blank_contact_fields(context: Context) -> Markup:
    """The empty fields of the add-contact form, rendered once per language."""
    env, locale = context.environment, current_locale()
    html = _BLANK_FIELDS.get(locale)
    if html is None or env.auto_reload:
        module = env.get_template(FIELDS).make_module({"labels": labels})
        html = _BLANK_FIELDS[locale] = Markup(module.contact_fields({}, {}))  # noqa: S704
    return html


def _contacts_url(request: Request, customer_id: int) -> str:
    """The Contacts region of the customer page."""
    return request.app.route_reverse("customers.detail", customer_id=customer_id) + "#contacts"


def _values(contact: Contact) -> dict[str, str]:
    """A stored contact as the strings the form inputs show."""
    return {
        "name": contact.name,
        "role": contact.role,
        "phone": format_phone_display(contact.phone),
        "email": contact.email,
        "note": contact.note,
    }


def _context(
    customer: Customer,
    *,
    contact: Contact | None = None,
    contacts: Sequence[Row] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict:
    """What the contacts page and fragments show."""
    return {
        "active": "customers",
        "c": customer,
        "contact": contact,
        "contacts": contacts or [],
        "contact_values": values or {},
        "contact_errors": errors or {},
        "contact_blank": blank_contact_fields,
        "labels": labels,
    }


async def _contact_or_404(
    db: AsyncSession, actor: Actor, customer_id: int, contact_id: int
) -> tuple[Customer, Contact]:
    """Return (customer, contact) or answer 404."""
    customer = await customer_or_404(db, actor, customer_id)
    contact = await contact_get(db, customer_id=customer.id, contact_id=contact_id)
    if contact is None:
        raise NotFoundException()
    return customer, contact


class ContactController(Controller):
    """The contacts of a customer, under /customers/{id}/contacts."""

    path = "/{customer_id:int}/contacts"  # under /customers (web/customers/router.py)
    guards = [require_user]

    @get("/", name="customers.contacts")
    async def index(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template | Redirect:
        """The contacts of a customer (a fragment for HTMX, the customer page otherwise)."""
        customer = await customer_or_404(db, actor, customer_id)
        contacts = await contact_list(db, customer_id=customer.id)
        return fragment_or_redirect(
            request,
            LIST,
            _context(customer, contacts=contacts),
            page_url=_contacts_url(request, customer.id),
        )

    @post("/", name="customers.contact_add")
    async def create(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        customer_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Add a contact; a mistake re-shows the form with the input kept."""
        customer = await customer_or_404(db, actor, customer_id)
        form = fields(data)
        contact_input, errors = validate_contact(form)
        if contact_input is None:
            contacts = await contact_list(db, customer_id=customer.id)
            context = _context(customer, contacts=contacts, values=form, errors=errors)
            return render(request, PAGE, context, partial=LIST, status_code=422)
        await contact_add(
            db,
            customer_id=customer.id,
            data=contact_input,
            user_id=actor.id,
            now=now,
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Contact added."))
        return see_other(request, _contacts_url(request, customer.id))

    @get("/{contact_id:int}/edit", name="customers.contact_edit")
    async def edit(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int, contact_id: int
    ) -> Template:
        """The form to change one contact."""
        customer, contact = await _contact_or_404(db, actor, customer_id, contact_id)
        context = _context(customer, contact=contact, values=_values(contact))
        return render(request, PAGE, context, partial=FORM)

    @post("/{contact_id:int}/edit", name="customers.contact_update")
    async def update(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        customer_id: int,
        contact_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save a changed contact."""
        customer, contact = await _contact_or_404(db, actor, customer_id, contact_id)
        form = fields(data)
        contact_input, errors = validate_contact(form)
        if contact_input is None:
            context = _context(customer, contact=contact, values=form, errors=errors)
            return render(request, PAGE, context, partial=FORM, status_code=422)
        await contact_update(
            db,
            contact=contact,
            data=contact_input,
            user_id=actor.id,
            now=now,
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Contact saved."))
        return see_other(request, _contacts_url(request, customer.id))

    @post("/{contact_id:int}/delete", name="customers.contact_delete")
    async def delete(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int, contact_id: int
    ) -> Redirect | Response:
        """Remove a contact."""
        customer, contact = await _contact_or_404(db, actor, customer_id, contact_id)
        await contact_delete(db, contact=contact, user_id=actor.id, ip=client_ip(request))
        await db.commit()
        flash(request, _("Contact removed."))
        return see_other(request, _contacts_url(request, customer.id))
