"""Display names (English msgids) of the product's codes, shared by the web pages and the PDF.

Codes stay English in the database; each surface translates these msgids where it shows
them (the web through gettext, the PDF through the translate function it is given).
"""

from domain.contacts import ContactRole
from domain.customers import CustomFieldKind
from domain.enums import Kind, Level, LossReason, Method, Milestone, Source, Stage, Status

LEVELS: dict[str, str] = {
    Level.A: "A (high intent)",
    Level.B: "B (medium intent)",
    Level.C: "C (potential)",
}
STAGES: dict[str, str] = {
    Stage.LEAD: "Lead",
    Stage.FIRST_CONTACT: "First contact",
    Stage.NEEDS_CONFIRMED: "Needs confirmed",
    Stage.PROPOSAL: "Proposal",
    Stage.NEGOTIATION: "Negotiation",
    Stage.WON: "Won",
    Stage.AFTER_SALES: "After-sales",
}
STATUSES: dict[str, str] = {
    Status.POTENTIAL: "Potential",
    Status.INTENT: "Intent",
    Status.WON: "Won",
    Status.LOST: "Lost",
}
SOURCES: dict[str, str] = {
    Source.TRADE_SHOW: "Trade show",
    Source.REFERRAL: "Referral",
    Source.WEBSITE: "Website",
    Source.COLD_CALL: "Cold call",
    Source.WALK_IN: "Walk-in",
    Source.OTHER: "Other",
}
LOSS_REASONS: dict[str, str] = {
    LossReason.PRICE: "Price too high",
    LossReason.COMPETITOR: "Competitor won",
    LossReason.NEED_CHANGED: "Need changed",
    LossReason.NO_RESPONSE: "No response",
    LossReason.OTHER: "Other",
}
METHODS: dict[str, str] = {
    Method.FIELD: "Field visit",
    Method.PHONE: "Phone",
    Method.STORE: "Store",
    Method.MESSAGE: "Message",
    Method.EMAIL: "Email",
}
MILESTONES: dict[str, str] = {
    Milestone.CONTRACT_SUBMITTED: "Contract submitted",
    Milestone.FIRST_PAYMENT: "First payment received",
    Milestone.CONTRACT_SIGNED: "Contract signed",
}
KINDS: dict[str, str] = {Kind.COMPANY: "Company", Kind.PERSON: "Person"}
CONTACT_ROLES: dict[str, str] = {
    ContactRole.PURCHASER: "Purchaser",
    ContactRole.TECHNICAL_REVIEWER: "Technical reviewer",
    ContactRole.FINANCE_APPROVER: "Finance approver",
    ContactRole.DECISION_MAKER: "Decision maker",
    ContactRole.USER: "User",
    ContactRole.OTHER: "Other",
}
CUSTOM_KINDS: dict[str, str] = {
    CustomFieldKind.TEXT: "Text",
    CustomFieldKind.NUMBER: "Number",
    CustomFieldKind.DATE: "Date",
    CustomFieldKind.CHOICE: "Single choice",
}
# The weekly report's headline numbers, by the key of WeeklyReport.headline.
# Why the company holds a customer's data (PIPL Art. 13); "" when nobody recorded it.
DATA_BASES: dict[str, str] = {
    "": "Not recorded",
    "contract": "Contract",
    "consent": "Consent",
    "legitimate": "Legitimate business interest",
}
HEADLINES: dict[str, str] = {
    "visits": "Visits",
    "customers_touched": "Customers touched",
    "new_customers": "New customers",
    "won": "Won",
    "lost": "Lost",
    "overdue": "Overdue at week end",
}

# Every msgid above, for the catalogue check (tests/web/test_i18n.py).
MSGIDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        msgid
        for table in (
            LEVELS,
            STAGES,
            STATUSES,
            SOURCES,
            LOSS_REASONS,
            METHODS,
            MILESTONES,
            KINDS,
            CONTACT_ROLES,
            CUSTOM_KINDS,
            DATA_BASES,
            HEADLINES,
        )
        for msgid in table.values()
    )
)
