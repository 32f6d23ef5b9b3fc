"""The messages the customer and counter rules return are translated for the web layer."""

import domain.duplicates
import domain.ownership
from web.core.i18n import load_catalogue


def test_ownership_and_duplicate_messages_have_chinese():
    catalogue = load_catalogue("zh_CN")
    messages = (*domain.ownership.MESSAGES, *domain.duplicates.MESSAGES)
    assert len(messages) == 6
    assert [m for m in messages if m not in catalogue] == []
