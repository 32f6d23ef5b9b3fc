"""The customer feature's messages and display names are translated."""

import domain.contacts
import domain.custom_fields
from web.core import labels
from web.core.i18n import load_catalogue, set_locale


def test_domain_messages_of_the_feature_have_chinese():
    catalogue = load_catalogue("zh_CN")
    missing = [
        m for m in (*domain.contacts.MESSAGES, *domain.custom_fields.MESSAGES) if m not in catalogue
    ]
    assert not missing


def test_display_names_in_both_languages():
    set_locale("zh_CN")
    assert labels.field("level") == "客户级别"
    assert labels.field("source") == "客户来源"
    assert labels.stage("needs_confirmed") == "需求确认"
    assert labels.status("lost") == "流失"
    assert labels.loss_reason("competitor") == "竞争对手赢单"
    assert labels.source("walk_in") == "自然到店"
    assert labels.contact_role("finance_approver") == "财务审批"
    assert labels.level_badge("A") == "A级"
    set_locale("en")
    assert labels.field("level") == "Level"
    assert labels.field("email") == "Email"
    assert labels.level_badge("A") == "Level A"
    assert labels.stage("unknown_code") == "unknown_code"
    set_locale("zh_CN")
