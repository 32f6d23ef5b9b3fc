"""Handover when someone leaves (admin, on deactivation) and a manager's bulk Reassign (转移客户).

Both show how many customers go where before anything changes; every move is audited and
kept in the customer's history (pool events). Visits keep their author.
"""

from datetime import datetime
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.customer_filter import filter_where
from db.customers import customer_owner_choices
from db.models import Customer, User
from db.pool import BATCH, pool_assign
from db.sessions import session_delete_for_user
from db.users import user_set_active
from db.visibility import visible_customers
from domain.customer_filter import filter_parse, filter_query
from domain.enums import Role
from domain.pool import PoolEventKind, spread
from domain.users import Actor
from web.core.client_ip import client_ip
from web.core.forms import Form, field, field_list, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _

MAX_ID = 2**63 - 1
MODES = ("one", "spread", "pool")
MAX_SELECTED = 1000  # ticked rows per Reassign; a list page shows far fewer


def _selected(values: list[str], selecting: bool = False) -> list[int] | None:
    """The ids ticked on the list (None: no selection, the filter decides); non-ids dropped.

    `selecting` (Reassign selected sent with nothing ticked) means an empty choice, not all.
    """
    if not values and not selecting:
        return None
    ids = {int(v) for v in values if v.isdigit() and len(v) < 20 and 0 < int(v) <= MAX_ID}
    return sorted(ids)[:MAX_SELECTED]


def _plan(
    customer_ids: list[int], mode: str, one: str, many: list[str], allowed: dict[int, str]
) -> tuple[dict[int, int | None] | None, dict[str, str]]:
    """Who gets which customer, from the form; errors by field when the choice is incomplete."""
    if mode == "pool":
        return {c: None for c in customer_ids}, {}
    if mode == "one":
        target = int(one) if one.isdigit() and len(one) < 12 else None
        if target not in allowed:
            return None, {"to": _("Choose the colleague who takes them over.")}
        return {c: target for c in customer_ids}, {}
    if mode == "spread":
        targets = [int(v) for v in many if v.isdigit() and len(v) < 12 and int(v) in allowed]
        if not targets:
            return None, {"spread": _("Choose at least one colleague.")}
        return spread(customer_ids, sorted(set(targets))), {}
    return None, {"mode": _("Choose what happens to the customers.")}


def _counts(plan: dict[int, int | None], allowed: dict[int, str]) -> list[tuple[str, int]]:
    """The preview: how many customers go to whom (the pool named as such)."""
    tally: dict[int | None, int] = {}
    for target in plan.values():
        tally[target] = tally.get(target, 0) + 1
    return [
        (allowed.get(t, "") if t is not None else _("Public pool"), n)
        for t, n in sorted(tally.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]


async def reassign_in_batches(
    db: AsyncSession, *, ids: list[int], target: int | None, by_id: int | None, now: datetime
) -> int:
    """Move customers to `target` (None: the pool), committing one batch at a time.

    A visit recorded meanwhile waits for one batch, not for the whole move.
    """
    moved = 0
    kind = PoolEventKind.ASSIGN if target is not None else PoolEventKind.RELEASE
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        moves = dict.fromkeys(chunk, target)
        moved += await pool_assign(
            db, moves=moves, kind=kind, by_id=by_id, now=now, reason="reassign"
        )
        await db.commit()
    return moved


class HandoverController(Controller):
    """Deactivating a user who owns customers: choose where they go, preview, confirm."""

    path = "/pool/handover"
    guards = [require_roles(Role.ADMIN)]

    async def _load(self, db: AsyncSession, user_id: int):
        """The leaving user, their customers' ids, and the colleagues who may take them."""
        if not 0 < user_id <= MAX_ID:
            raise NotFoundException()
        user = await db.get(User, user_id)
        if user is None:
            raise NotFoundException()
        ids = list(
            (
                await db.execute(
                    select(Customer.id).where(Customer.owner_id == user_id).order_by(Customer.id)
                )
            ).scalars()
        )
        choices = await customer_owner_choices(db, team_id=user.team_id)
        allowed = {o.id: o.name for o in choices if o.id != user_id}
        return user, ids, allowed

    def _page(self, request, user, ids, allowed, values, errors, preview, status_code=200):
        """The handover page (its form is the fragment for HTMX)."""
        context = {
            "active": "settings",
            "u": user,
            "owned": len(ids),
            "colleagues": sorted(allowed.items(), key=lambda kv: kv[1]),
            "values": values,
            "chosen": values.get("_spread", []),
            "errors": errors,
            "preview": preview,
        }
        return render(
            request,
            "pages/pool/handover.html",
            context,
            partial="partials/pool/handover_form.html",
            status_code=status_code,
        )

    @get("/{user_id:int}", name="pool.handover")
    async def show(
        self, request: Request, db: AsyncSession, user_id: int, mode: str = "", to: str = ""
    ) -> Template:
        """Ask what happens to the customers; with a choice, show the counts (a preview)."""
        user, ids, allowed = await self._load(db, user_id)
        many = request.query_params.getall("spread", [])
        values = {"mode": mode, "to": to, "_spread": many}
        preview, errors = None, {}
        if mode:
            plan, errors = _plan(ids, mode, to, many, allowed)
            preview = _counts(plan, allowed) if plan else None
        return self._page(
            request, user, ids, allowed, values, errors, preview, 422 if errors else 200
        )

    @post("/{user_id:int}", name="pool.handover_confirm")
    async def confirm(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        user_id: int,
        data: Form,
        now: datetime,
    ) -> Template | Redirect:
        """Move every customer as chosen and deactivate the user, in one transaction."""
        user, ids, allowed = await self._load(db, user_id)
        if user_id == actor.id:
            raise NotFoundException()
        many = field_list(data, "spread")
        values = {**fields(data), "_spread": many}
        plan, errors = _plan(ids, field(data, "mode"), field(data, "to"), many, allowed)
        if plan is None:
            return self._page(request, user, ids, allowed, values, errors, None, 422)
        moved = await _hand_over_and_deactivate(
            db, plan, actor=actor, user_id=user_id, now=now, ip=client_ip(request)
        )
        await db.commit()
        flash(
            request,
            _(
                "%(name)s is deactivated; %(n)s customers were handed over.",
                name=user.name,
                n=moved,
            ),
        )
        return see_other(request, request.app.route_reverse("admin_users.list"))


async def _hand_over_and_deactivate(
    db: AsyncSession, plan, *, actor: Actor, user_id: int, now: datetime, ip: str
) -> int:
    """Move the leaver's customers as planned, deactivate them, end their sessions, audit."""
    moved = await pool_assign(
        db, moves=plan, kind=PoolEventKind.ASSIGN, by_id=actor.id, now=now, reason="handover"
    )
    await user_set_active(db, user_id=user_id, active=False)
    ended = await session_delete_for_user(db, user_id=user_id)
    await audit_add(
        db,
        action="user_deactivated",
        actor_id=actor.id,
        entity="user",
        entity_id=user_id,
        detail={"sessions_ended": ended, "customers_handed_over": moved},
        ip=ip,
    )
    return moved


class ReassignController(Controller):
    """A manager's bulk Reassign of the customers a list filter shows: preview, then move."""

    path = "/pool/reassign"
    guards = [require_roles(Role.MANAGER, Role.ADMIN)]

    async def _ids(
        self, request: Request, db: AsyncSession, actor: Actor, params, chosen, now, team_id=None
    ):
        """The ids ticked on the list, else those the filter selects; always within what the
        manager sees (and one team, if given). Ticked ids left out are counted as `ignored`."""
        filt, _errors = filter_parse(params)
        tz = request.app.state.settings.tz
        if chosen is not None:
            where = visible_customers(actor) & Customer.id.in_(chosen)
        else:
            where = filter_where(actor, filt, today=now.astimezone(tz).date(), now=now, tz=tz)
        if team_id is not None:
            where = where & (Customer.team_id == team_id)
        ids = list(
            (await db.execute(select(Customer.id).where(where).order_by(Customer.id))).scalars()
        )
        return filt, ids, len(chosen) - len(ids) if chosen else 0

    async def _targets(self, db: AsyncSession, actor: Actor) -> dict[int, tuple[str, int | None]]:
        """Whom the manager may give customers to: the active owners of their team."""
        team = None if actor.role == Role.ADMIN else actor.team_id
        return {o.id: (o.name, o.team_id) for o in await customer_owner_choices(db, team_id=team)}

    def _page(self, request, picked, targets, values, errors, status_code=200):
        """The Reassign page: how many customers (and ticked ones left out), to whom."""
        filt, ids, ignored, chosen = picked
        context = {
            "active": "customers",
            "count": len(ids),
            "ignored": ignored,
            "chosen": chosen,
            "filter_fields": {} if chosen is not None else filter_query(filt, page=1),
            "targets": sorted(((k, v[0]) for k, v in targets.items()), key=lambda kv: kv[1]),
            "values": values,
            "errors": errors,
            "back_url": request.app.route_reverse("customers.list"),
        }
        return render(
            request,
            "pages/pool/reassign.html",
            context,
            partial="partials/pool/reassign_form.html",
            status_code=status_code,
        )

    @get("/", name="pool.reassign")
    async def preview(
        self, request: Request, db: AsyncSession, actor: Actor, now: datetime
    ) -> Template:
        """How many customers the ticked rows, else the current list filter, would move."""
        chosen = _selected(
            request.query_params.getall("ids", []), "selected" in request.query_params
        )
        picked = await self._ids(request, db, actor, request.query_params, chosen, now)
        targets = await self._targets(db, actor)
        return self._page(request, (*picked, chosen), targets, {}, {})

    @post("/", name="pool.reassign_confirm")
    async def confirm(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form, now: datetime
    ) -> Template | Redirect:
        """Move them, one batch per transaction so visits recorded meanwhile wait little."""
        form, chosen = fields(data), _selected(field_list(data, "ids"), "selected" in data)
        targets = await self._targets(db, actor)
        to = field(data, "to")
        target = None if to == "pool" else int(to) if to.isdigit() and len(to) < 12 else -1
        if target is not None and target not in targets:
            picked = await self._ids(request, db, actor, form, chosen, now)
            errors = {"to": _("Choose who takes the customers over.")}
            return self._page(request, (*picked, chosen), targets, form, errors, 422)
        # An owner only gets customers of their own team (an admin's list spans teams).
        team_id = targets[target][1] if target is not None else None
        filt, ids, ignored = await self._ids(request, db, actor, form, chosen, now, team_id)
        moved = await reassign_in_batches(db, ids=ids, target=target, by_id=actor.id, now=now)
        flash(request, _("%(n)s customers reassigned.", n=moved))
        if ignored:
            flash(request, _("%(n)s selected customers were left out.", n=ignored))
        query = urlencode(filter_query(filt, page=1))
        url = request.app.route_reverse("customers.list")
        return see_other(request, f"{url}?{query}" if query else url)
