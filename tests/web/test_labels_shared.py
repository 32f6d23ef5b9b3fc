"""Every code the product stores has one display name, shared by the web pages and the PDF."""

import pytest

from domain import labels
from domain.contacts import ContactRole
from domain.customers import CustomFieldKind
from domain.enums import Kind, Level, LossReason, Method, Milestone, Source, Stage, Status
from pdf.weekly import MSGIDS as PDF_MSGIDS
from web.core import labels as web_labels
from web.core.i18n import load_catalogue, set_locale


@pytest.mark.parametrize(
    ("codes", "table"),
    [
        (Level, labels.LEVELS),
        (Stage, labels.STAGES),
        (Status, labels.STATUSES),
        (Source, labels.SOURCES),
        (LossReason, labels.LOSS_REASONS),
        (Method, labels.METHODS),
        (Milestone, labels.MILESTONES),
        (Kind, labels.KINDS),
        (ContactRole, labels.CONTACT_ROLES),
        (CustomFieldKind, labels.CUSTOM_KINDS),
    ],
)
def test_every_code_has_a_display_name(codes, table):
    assert {str(c) for c in codes} == {str(k) for k in table}
    assert all(table.values())


def test_the_pdf_prints_the_names_the_web_shows():
    for table in (labels.STAGES, labels.STATUSES, labels.LOSS_REASONS, labels.METHODS):
        assert set(table.values()) <= set(PDF_MSGIDS)


def test_the_web_translates_the_shared_names():
    set_locale("zh_CN")
    assert web_labels.stage(Stage.NEEDS_CONFIRMED) == "需求确认"
    assert web_labels.options(labels.LEVELS)[0] == ("A", "A（高意向）")
    set_locale("en")
    try:
        assert web_labels.stage(Stage.NEEDS_CONFIRMED) == labels.STAGES[Stage.NEEDS_CONFIRMED]
    finally:
        set_locale("zh_CN")


def test_every_display_name_is_translated():
    catalogue = load_catalogue("zh_CN")
    assert [m for m in labels.MSGIDS if m not in catalogue] == []
