"""The product's vocabulary as enums: roles, levels, stages, statuses, sources, methods."""

from enum import StrEnum


class Role(StrEnum):
    """What a user does, which decides what they may see."""

    REP = "rep"
    CLERK = "clerk"
    MANAGER = "manager"
    ADMIN = "admin"


class Level(StrEnum):
    """Customer level: A high intent, B medium, C potential."""

    A = "A"
    B = "B"
    C = "C"


class Kind(StrEnum):
    """Whether a customer is a company or a person."""

    COMPANY = "company"
    PERSON = "person"


class Stage(StrEnum):
    """Position in the sales process, in order."""

    LEAD = "lead"
    FIRST_CONTACT = "first_contact"
    NEEDS_CONFIRMED = "needs_confirmed"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    AFTER_SALES = "after_sales"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


class Status(StrEnum):
    """Commercial status of a customer."""

    POTENTIAL = "potential"
    INTENT = "intent"
    WON = "won"
    LOST = "lost"


class LossReason(StrEnum):
    """Why a customer was lost."""

    PRICE = "price"
    COMPETITOR = "competitor"
    NEED_CHANGED = "need_changed"
    NO_RESPONSE = "no_response"
    OTHER = "other"


class Source(StrEnum):
    """Where a customer came from."""

    TRADE_SHOW = "trade_show"
    REFERRAL = "referral"
    WEBSITE = "website"
    COLD_CALL = "cold_call"
    WALK_IN = "walk_in"
    OTHER = "other"


class Method(StrEnum):
    """How a visit happened."""

    FIELD = "field"
    PHONE = "phone"
    STORE = "store"
    MESSAGE = "message"
    EMAIL = "email"


class Milestone(StrEnum):
    """Key points in a deal that a visit can mark."""

    CONTRACT_SUBMITTED = "contract_submitted"
    FIRST_PAYMENT = "first_payment"
    CONTRACT_SIGNED = "contract_signed"
