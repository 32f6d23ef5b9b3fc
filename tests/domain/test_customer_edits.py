"""Saving an edit from a form that may be out of date."""

from domain.edits import plan_edit

OPENED = {"name": "华东机械", "industry": "", "level": "B", "tags": ["VIP"]}


def test_nobody_saved_in_between_writes_every_difference():
    submitted = dict(OPENED, industry="机械")
    plan = plan_edit(
        opened_version=1, current_version=1, original=OPENED, submitted=submitted, current=OPENED
    )
    assert plan.changes == {"industry": "机械"} and not plan.conflicts


def test_different_fields_merge_onto_the_newer_record():
    current = dict(OPENED, name="华东机械集团")
    submitted = dict(OPENED, industry="机械")
    plan = plan_edit(
        opened_version=1, current_version=2, original=OPENED, submitted=submitted, current=current
    )
    assert plan.changes == {"industry": "机械"} and not plan.conflicts


def test_same_field_changed_differently_is_a_conflict_and_writes_nothing():
    current = dict(OPENED, name="华东机械集团", level="A")
    submitted = dict(OPENED, name="华东机械设备", level="A", industry="机械")
    plan = plan_edit(
        opened_version=1, current_version=2, original=OPENED, submitted=submitted, current=current
    )
    assert plan.conflicts == {"name": ("华东机械设备", "华东机械集团")}
    assert plan.changes == {}
    assert set(plan.mine) == {"name", "level", "industry"}


def test_same_change_on_both_sides_is_not_a_conflict():
    current = dict(OPENED, level="A")
    submitted = dict(OPENED, level="A")
    plan = plan_edit(
        opened_version=1, current_version=2, original=OPENED, submitted=submitted, current=current
    )
    assert not plan.conflicts and plan.changes == {}


def test_without_the_opened_values_differences_in_filled_fields_conflict():
    current = dict(OPENED, name="华东机械集团")
    submitted = dict(OPENED, industry="机械")
    plan = plan_edit(
        opened_version=1, current_version=2, original=None, submitted=submitted, current=current
    )
    assert set(plan.conflicts) == {"name"}
    assert plan.changes == {}
