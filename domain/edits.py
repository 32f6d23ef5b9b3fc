"""Saving an edit made on a form that may be out of date (PRODUCT.md §3: nothing is lost)."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.customers import changed_fields, detect_conflicts


@dataclass(frozen=True)
class EditPlan:
    """What saving an edit does.

    `changes` are the fields to write onto the stored record (empty when there are
    conflicts: then nothing is written), `conflicts` maps a field to (yours, theirs), and
    `mine` is what this user changed compared with the form they opened.
    """

    changes: dict = field(default_factory=dict)
    conflicts: dict[str, tuple[object, object]] = field(default_factory=dict)
    mine: dict = field(default_factory=dict)


def plan_edit(
    *,
    opened_version: int | None,
    current_version: int,
    original: Mapping[str, object] | None,
    submitted: Mapping[str, object],
    current: Mapping[str, object],
) -> EditPlan:
    """Decide how a submitted edit is saved.

    When nobody saved since the form was opened, every difference is written. Otherwise
    only the fields this user changed are considered: a field the other person changed
    too, to another value, is a conflict and nothing is written; without conflicts the
    user's changes are merged onto the newer record. Without `original` (what the form
    was opened with), any filled-in stored value that differs from the submitted one is
    a conflict.
    """
    if opened_version == current_version:
        mine = changed_fields(current, submitted)
        return EditPlan(changes=mine, mine=mine)
    opened = dict(original or {})
    mine = {k: v for k, v in changed_fields(opened, submitted).items() if k in current}
    conflicts = detect_conflicts(opened, {k: submitted[k] for k in mine}, current)
    if conflicts:
        return EditPlan(conflicts=conflicts, mine=mine)
    return EditPlan(changes=changed_fields(current, mine), mine=mine)
