"""A required custom field added later: asked for by full forms only, and found where missing."""

from domain.custom_fields import FormScope, fields_for, missing_required
from domain.customers import CustomFieldDef, validate_customer

BUDGET = CustomFieldDef(key="budget", label_en="Budget", label_zh="预算", required=True)
NOTE = CustomFieldDef(key="note", label_en="Note", label_zh="备注")
FORM = {"name": "华东机械", "phone": "13800138000", "level": "B", "source": "referral"}


def test_full_forms_ask_for_a_required_field():
    data, errors = validate_customer(FORM, fields_for([BUDGET, NOTE], FormScope.FULL))
    assert data is None and "custom_budget" in errors


def test_partial_changes_are_not_blocked_by_it():
    relaxed = fields_for([BUDGET, NOTE], FormScope.PARTIAL)
    data, errors = validate_customer(FORM, relaxed)
    assert errors == {} and data is not None
    assert BUDGET.required  # the definitions themselves are unchanged


def test_missing_required_lists_blank_and_absent_values():
    assert missing_required([BUDGET, NOTE], {}) == [BUDGET]
    assert missing_required([BUDGET, NOTE], {"budget": "  "}) == [BUDGET]
    assert missing_required([BUDGET, NOTE], {"budget": "12"}) == []
    assert missing_required([BUDGET], None) == [BUDGET]
