"""Sales process rules: stage moves, entry criteria, status changes, approvals, the pipeline."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.customers import FieldError, parse_amount_cents, parse_email
from domain.enums import STAGE_ORDER, LossReason, Role, Stage, Status

# Fields an admin may require to enter a stage (stored names, as on the Customer row).
CRITERIA_FIELDS: tuple[str, ...] = (
    "expected_amount_cents",
    "needs",
    "contact_name",
    "industry",
    "address",
    "email",
)
# The seeds' examples: a confirmed need is written down, a proposal has an amount.
DEFAULT_CRITERIA: dict[str, tuple[str, ...]] = {
    Stage.NEEDS_CONFIRMED: ("needs",),
    Stage.PROPOSAL: ("expected_amount_cents",),
}
# Days in a stage after which a card on the pipeline board is marked as stuck.
DEFAULT_STUCK_DAYS: dict[str, int | None] = {
    Stage.LEAD: 30,
    Stage.FIRST_CONTACT: 14,
    Stage.NEEDS_CONFIRMED: 21,
    Stage.PROPOSAL: 14,
    Stage.NEGOTIATION: 21,
    Stage.WON: None,
    Stage.AFTER_SALES: None,
}
MAX_STUCK_DAYS = 3650
MAX_COMMENT = 500

MSG_SAME_STAGE = "The customer is already at this stage."
MSG_LOST_NO_MOVE = "A lost customer keeps its stage."
MSG_USE_WON = "Use Mark as won to move a customer to Won."
MSG_AFTER_SALES_NEEDS_WON = "Only a won customer moves to After-sales."
MSG_WON_STAYS = "A won customer stays at Won or After-sales."
MSG_SAME_STATUS = "The customer already has this status."
MSG_CHOOSE_STATUS = "Choose a status."
MSG_CHOOSE_STAGE = "Choose a stage."
MSG_REASON = "Choose a reason the customer was lost."
MSG_REASON_TEXT = "Say why the customer was lost."
MSG_COMMENT_LONG = "Use at most 500 characters."
MSG_REQUIRED = "Fill this in to enter the stage."
MSG_PENDING = "A change of this customer is waiting for approval."
MSG_DECIDED = "This request was already decided."
MSG_NOT_REQUESTER = "Only the person who asked may withdraw a request."
MSG_STUCK_DAYS = "Enter a whole number of days (1 to 3650) or leave it empty."

MESSAGES: tuple[str, ...] = (
    MSG_SAME_STAGE,
    MSG_LOST_NO_MOVE,
    MSG_USE_WON,
    MSG_AFTER_SALES_NEEDS_WON,
    MSG_WON_STAYS,
    MSG_SAME_STATUS,
    MSG_CHOOSE_STATUS,
    MSG_CHOOSE_STAGE,
    MSG_REASON,
    MSG_REASON_TEXT,
    MSG_COMMENT_LONG,
    MSG_REQUIRED,
    MSG_PENDING,
    MSG_DECIDED,
    MSG_NOT_REQUESTER,
    MSG_STUCK_DAYS,
)


class ApprovalKind(StrEnum):
    """A change that may need a manager's approval (the payload says what exactly)."""

    WON_TO_LOST = "won_to_lost"
    POOL_RELEASE = "pool_release"


# Both need a manager by default (PRODUCT.md §5); an admin may switch either off.
DEFAULT_APPROVAL_KINDS: frozenset[str] = frozenset(ApprovalKind)


class ApprovalState(StrEnum):
    """Where an approval request stands: pending until decided or withdrawn."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# --- stages ---------------------------------------------------------------------------------


def parse_stage(raw: str) -> Stage | None:
    """Return the stage a form names, or None."""
    try:
        return Stage(raw)
    except ValueError:
        return None


def parse_status(raw: str) -> Status | None:
    """Return the status a form names, or None."""
    try:
        return Status(raw)
    except ValueError:
        return None


def stage_move_problem(*, current: Stage, status: Status, target: Stage) -> str | None:
    """Return why a customer may not move from `current` to `target`, or None if it may.

    Won is reached by marking the customer won (which also sets the status); after-sales
    follows a won deal; a won customer does not slide back into the open stages (that is
    a status change), and a lost one keeps the stage where it was lost.
    """
    if target == current:
        return MSG_SAME_STAGE
    if status == Status.LOST:
        return MSG_LOST_NO_MOVE
    if target == Stage.WON and status != Status.WON:
        return MSG_USE_WON
    if target == Stage.AFTER_SALES and status != Status.WON:
        return MSG_AFTER_SALES_NEEDS_WON
    if status == Status.WON and target not in (Stage.WON, Stage.AFTER_SALES):
        return MSG_WON_STAYS
    return None


def stage_move_errors(
    *, current: Stage, status: Status, target: Stage | None, comment: str = ""
) -> dict[str, str]:
    """Return a stage move form's errors by field before its criteria ({} when it may go on)."""
    errors: dict[str, str] = {}
    if target is None:
        errors["to"] = MSG_CHOOSE_STAGE
    elif problem := stage_move_problem(current=current, status=status, target=target):
        errors["to"] = problem
    if len(comment) > MAX_COMMENT:
        errors["comment"] = MSG_COMMENT_LONG
    return errors


def stage_targets(*, current: Stage, status: Status) -> list[Stage]:
    """Return every stage the customer may move to now, in process order."""
    return [
        s
        for s in STAGE_ORDER
        if stage_move_problem(current=current, status=status, target=s) is None
    ]


def stage_neighbours(*, current: Stage, status: Status) -> tuple[Stage | None, Stage | None]:
    """Return the allowed stage one step back and one step forward (None when there is none)."""
    i = STAGE_ORDER.index(current)
    allowed = set(stage_targets(current=current, status=status))
    back = STAGE_ORDER[i - 1] if i > 0 and STAGE_ORDER[i - 1] in allowed else None
    ahead = (
        STAGE_ORDER[i + 1] if i + 1 < len(STAGE_ORDER) and STAGE_ORDER[i + 1] in allowed else None
    )
    return back, ahead


def _blank(value: object) -> bool:
    """Whether a field counts as not filled in."""
    return value is None or (isinstance(value, str) and not value.strip())


def criteria_missing(
    criteria: Mapping[str, Sequence[str]],
    *,
    current: Stage,
    target: Stage,
    values: Mapping[str, object],
) -> list[str]:
    """Return the fields that must be filled before moving to `target` (in criteria order).

    Moving forward must meet the criteria of every stage it enters, skipped ones included,
    so a jump cannot dodge them; moving back needs nothing.
    """
    start, end = STAGE_ORDER.index(current), STAGE_ORDER.index(target)
    missing: list[str] = []
    for stage in STAGE_ORDER[start + 1 : end + 1]:
        for name in criteria.get(stage, ()):
            if name in CRITERIA_FIELDS and name not in missing and _blank(values.get(name)):
                missing.append(name)
    return missing


def criteria_input_name(name: str) -> str:
    """The form input that fills a stored criteria field (amounts are typed in yuan)."""
    return "expected_amount" if name == "expected_amount_cents" else name


_TEXT_LIMITS = {"needs": 5000, "contact_name": 100, "industry": 100, "address": 300}


def parse_criteria_fields(
    form: Mapping[str, str], names: Sequence[str]
) -> tuple[dict[str, object], dict[str, str]]:
    """Read the missing fields filled in beside a stage move: (stored values, errors by input).

    A field left empty is an error too: it is asked for because the stage requires it.
    """
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name in names:
        input_name = criteria_input_name(name)
        raw = (form.get(input_name) or "").strip()
        try:
            if name == "expected_amount_cents":
                value: object = parse_amount_cents(raw)
            elif name == "email":
                value = parse_email(raw)
            else:
                value = raw[: _TEXT_LIMITS.get(name, 500)]
        except FieldError as exc:
            errors[input_name] = str(exc)
            continue
        if _blank(value):
            errors[input_name] = MSG_REQUIRED
        else:
            values[name] = value
    return values, errors


# --- status ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """A checked status change: the new status, the stage it implies, why, and any approval."""

    to_status: Status
    to_stage: Stage | None  # None: the stage stays
    reason: LossReason | None
    comment: str
    approval: ApprovalKind | None


def status_change(
    *,
    current_status: Status,
    current_stage: Stage,
    target: str,
    reason: str = "",
    comment: str = "",
    approval_kinds: Collection[str] = DEFAULT_APPROVAL_KINDS,
) -> tuple[StatusChange | None, dict[str, str]]:
    """Check a status change from a form; return (change, {}) or (None, errors by field).

    Lost needs a reason from the list, and "other" needs the reason in words (the
    comment). Won moves the stage to Won unless it is already Won or After-sales.
    Won → lost needs a manager when the admin setting says so.
    """
    to = parse_status(target)
    if to is None:
        return None, {"to": MSG_CHOOSE_STATUS}
    if to == current_status:
        return None, {"to": MSG_SAME_STATUS}
    errors: dict[str, str] = {}
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = MSG_COMMENT_LONG
    loss: LossReason | None = None
    if to == Status.LOST:
        try:
            loss = LossReason(reason)
        except ValueError:
            errors["reason"] = MSG_REASON
        if loss == LossReason.OTHER and not comment:
            errors["comment"] = MSG_REASON_TEXT
    if errors:
        return None, errors
    to_stage = None
    if to == Status.WON and current_stage not in (Stage.WON, Stage.AFTER_SALES):
        to_stage = Stage.WON
    kind = approval_for_status(current_status, to)
    approval = kind if kind is not None and kind in approval_kinds else None
    return StatusChange(to, to_stage, loss, comment, approval), {}


def approval_for_status(current: Status, target: Status) -> ApprovalKind | None:
    """Return the approval kind a status change falls under (whether or not it is enabled)."""
    if current == Status.WON and target == Status.LOST:
        return ApprovalKind.WON_TO_LOST
    return None


def pool_release_needs_approval(approval_kinds: Collection[str] = DEFAULT_APPROVAL_KINDS) -> bool:
    """Whether releasing a customer to the public pool waits for a manager."""
    return ApprovalKind.POOL_RELEASE in approval_kinds


# --- who may do what ---------------------------------------------------------------------


def may_change_sales(role: Role) -> bool:
    """Whether a role works the sales process (clerks serve the counter, not deals)."""
    return role in (Role.REP, Role.MANAGER, Role.ADMIN)


def may_decide(
    *,
    role: Role,
    actor_id: int,
    actor_team_id: int | None,
    requester_id: int | None,
    team_id: int,
) -> bool:
    """Whether a user may approve or reject a request about a customer of `team_id`.

    A manager of the customer's team or an admin decides; nobody decides their own
    request (a manager's goes to another manager of the team or an admin).
    """
    if actor_id == requester_id:
        return False
    if role == Role.ADMIN:
        return True
    return role == Role.MANAGER and actor_team_id is not None and actor_team_id == team_id


def decide_problem(state: str) -> str | None:
    """Return why a request can no longer be decided, or None while it is pending."""
    return None if state == ApprovalState.PENDING else MSG_DECIDED


def withdraw_problem(*, actor_id: int, requester_id: int | None, state: str) -> str | None:
    """Return why the actor may not withdraw the request, or None if they may."""
    if actor_id != requester_id:
        return MSG_NOT_REQUESTER
    return decide_problem(state)


# --- pipeline ---------------------------------------------------------------------------


def days_in_stage(since: date, today: date) -> int:
    """Whole days a customer has been in its current stage (0 on the day it moved)."""
    return max(0, (today - since).days)


def is_stuck(days: int, limit: int | None) -> bool:
    """Whether a customer has been in its stage longer than the admin-set limit."""
    return limit is not None and days > limit


def parse_stuck_days(raw: str) -> tuple[int | None, str | None]:
    """Read an admin's stuck-days field: (days or None for "never", error or None)."""
    raw = raw.strip()
    if not raw:
        return None, None
    try:
        days = int(raw)
    except ValueError:
        return None, MSG_STUCK_DAYS
    if not 1 <= days <= MAX_STUCK_DAYS:
        return None, MSG_STUCK_DAYS
    return days, None
