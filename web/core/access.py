"""Every route's declared access policy, in one table, enforced by one app-level guard.

The guard runs for every route handler of the app, so protection covers a new route by
itself: a route without an entry here is refused (403) and logged, never served. The
controllers keep their own guards (defence in depth); row-level visibility (own team or
not, which answers 404) stays in the db queries.
"""

import logging
from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from domain.enums import Role
from web.core.guards import actor_of, require_user

log = logging.getLogger("kehu.access")


@dataclass(frozen=True)
class Policy:
    """Who may reach a route: anyone, or signed-in users of the given roles."""

    public: bool = False
    roles: frozenset[Role] = frozenset(Role)

    def allows(self, role: Role | None) -> bool:
        """True when a visitor with this role (None: signed out) may reach the route."""
        return self.public or (role is not None and role in self.roles)


def roles(*allowed: Role) -> Policy:
    """Signed-in users with one of these roles."""
    return Policy(roles=frozenset(allowed))


PUBLIC = Policy(public=True)
SIGNED_IN = roles(*Role)
ADMIN = roles(Role.ADMIN)
MANAGERS = roles(Role.MANAGER, Role.ADMIN)
COUNTER = roles(Role.CLERK, Role.MANAGER, Role.ADMIN)
SALES = roles(Role.REP, Role.MANAGER, Role.ADMIN)

# Route name -> policy. The access matrix test (tests/web/test_access_matrix.py) checks
# every route of the app against this table, for each role and for signed-out visitors.
ROUTES: dict[str, Policy] = {
    # signing in and enrolling: before anyone is signed in
    "auth.login": PUBLIC,
    "auth.options": PUBLIC,
    "auth.verify": PUBLIC,
    "auth.logout": PUBLIC,
    "enroll.page": PUBLIC,
    "enroll.options": PUBLIC,
    "enroll.verify": PUBLIC,
    "language.set": PUBLIC,
    "health": PUBLIC,
    "notfound": PUBLIC,
    # everyone signed in
    "home": SIGNED_IN,
    "settings.page": SIGNED_IN,
    "settings.passkey_options": SIGNED_IN,
    "settings.passkey_verify": SIGNED_IN,
    "settings.passkey_rename": SIGNED_IN,
    "settings.passkey_revoke": SIGNED_IN,
    "customers.list": SIGNED_IN,
    "customers.search": SIGNED_IN,
    "customers.new": SIGNED_IN,
    "customers.create": SIGNED_IN,
    "customers.detail": SIGNED_IN,
    "customers.follow_up": SIGNED_IN,
    "customers.edit": SIGNED_IN,
    "customers.update": SIGNED_IN,
    "customers.contacts": SIGNED_IN,
    "customers.contact_add": SIGNED_IN,
    "customers.contact_edit": SIGNED_IN,
    "customers.contact_update": SIGNED_IN,
    "customers.contact_delete": SIGNED_IN,
    "visits.panel": SIGNED_IN,
    "visits.new": SIGNED_IN,
    "visits.record": SIGNED_IN,
    "visits.item": SIGNED_IN,
    "visits.edit": SIGNED_IN,
    "visits.update": SIGNED_IN,
    "visits.amount": SIGNED_IN,
    "visits.undo": SIGNED_IN,
    "visits.sync": SIGNED_IN,
    "visits.sync_state": PUBLIC,
    "offline.worker": PUBLIC,
    "offline.manifest": PUBLIC,
    "admin.visit_clock.save": ADMIN,
    # the store counter
    "counter.page": COUNTER,
    "counter.lookup": COUNTER,
    "counter.new": COUNTER,
    "counter.create": COUNTER,
    "counter.customer": COUNTER,
    "counter.card": COUNTER,
    # managers
    "team.page": MANAGERS,
    "team.list": MANAGERS,
    "report.weekly": MANAGERS,
    "report.weekly_pdf": MANAGERS,
    # administration
    "admin_users.list": ADMIN,
    "admin_users.create": ADMIN,
    "admin_users.link": ADMIN,
    "admin_users.reissue": ADMIN,
    "admin_users.deactivate": ADMIN,
    "admin_users.reactivate": ADMIN,
    "admin_users.privacy": ADMIN,
    "custom_fields.list": ADMIN,
    "custom_fields.create": ADMIN,
    "custom_fields.edit": ADMIN,
    "custom_fields.update": ADMIN,
    "custom_fields.retire": ADMIN,
    "admin.outcomes": ADMIN,
    "admin.outcomes.add": ADMIN,
    "admin.outcomes.update": ADMIN,
    "admin.cadence": ADMIN,
    "admin.cadence.save": ADMIN,
    "rfm.admin": ADMIN,
    "rfm.save": ADMIN,
    "admin.sales": ADMIN,
    "admin.sales.save": ADMIN,
    # the sales process: reps (own and pool customers), managers (their team), admins
    "sales.stage_confirm": SALES,
    "sales.stage_change": SALES,
    "sales.status_confirm": SALES,
    "sales.status_change": SALES,
    "sales.withdraw": SALES,
    "sales.decisions": SALES,
    "pipeline.board": SALES,
    "pipeline.stage": SALES,
    "approvals.list": MANAGERS,
    "approvals.decide": MANAGERS,
    # personal data (PIPL): the audit log for admins and (their team) managers. Privacy
    # requests: admins and users an admin gave the permission (any role), which the
    # controller's guard checks (require_privacy_officer), refusing the others with 403
    "audit.log": MANAGERS,
    "audit.export": MANAGERS,
    "privacy.basis": SIGNED_IN,
    "privacy.copy_json": SIGNED_IN,
    "privacy.copy_pdf": SIGNED_IN,
    "privacy.erase": SIGNED_IN,
    "privacy.erase_confirm": SIGNED_IN,
    "privacy.hold": SIGNED_IN,
    "privacy.overdue": SIGNED_IN,
    "privacy.request": SIGNED_IN,
    "privacy.request_add": SIGNED_IN,
    "privacy.request_close": SIGNED_IN,
    "privacy.requests": SIGNED_IN,
    "privacy.settings": ADMIN,
    # export: signed in, then the admin's per-role setting decides (web/imports/export.py)
    "exports.page": SIGNED_IN,
    "exports.customers": SIGNED_IN,
    "exports.visits": SIGNED_IN,
    # import: signed in, then the admin's per-role setting; a job is its importer's (and admins')
    "imports.new": SIGNED_IN,
    "imports.upload": SIGNED_IN,
    "imports.mapping": SIGNED_IN,
    "imports.mapping_save": SIGNED_IN,
    "imports.preview": SIGNED_IN,
    "imports.run": SIGNED_IN,
    "imports.progress": SIGNED_IN,
    "imports.report": SIGNED_IN,
    "imports.undo": SIGNED_IN,
    "admin.transfer": ADMIN,
    "admin.transfer.save": ADMIN,
    # the public pool: reps claim and release their own, managers release any of the team
    "pool.claim": SALES,
    "pool.release_form": SALES,
    "pool.release": SALES,
    "pool.warnings": SALES,
    "pool.reassign": MANAGERS,
    "pool.reassign_confirm": MANAGERS,
    "pool.handover": ADMIN,
    "pool.handover_confirm": ADMIN,
    "pool.settings": ADMIN,
    "pool.settings_save": ADMIN,
}


def policy_of(handler: BaseRouteHandler) -> Policy | None:
    """The declared policy of a route handler, or None when it has none."""
    if handler.name is None and set(getattr(handler, "http_methods", ())) == {"OPTIONS"}:
        return PUBLIC  # Litestar's automatic OPTIONS answer: only the allowed methods
    return ROUTES.get(handler.name or "")


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Enforce the route's policy: sign-in redirect, 403, or pass; no entry: refused.

    A coroutine, like the other guards: Litestar runs a plain function guard in a thread.
    """
    policy = policy_of(handler)
    if policy is None:
        log.error("route without an access policy refused: name=%r", handler.name)
        raise PermissionDeniedException()
    if policy.public:
        return
    await require_user(connection, handler)
    actor = actor_of(connection)
    if actor is None or actor.role not in policy.roles:
        raise PermissionDeniedException()
