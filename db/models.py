"""SQLModel tables: the whole persistent schema of Kehu."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, text
from sqlmodel import Field, SQLModel

from db.types import UTCDateTime, utcnow


def _dt(**kw) -> object:
    """A timezone-aware UTC datetime column."""
    return Field(sa_type=UTCDateTime, **kw)


class Team(SQLModel, table=True):
    """A field sales team or a store."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    is_store: bool = False
    created_at: datetime = _dt(default_factory=utcnow)


class User(SQLModel, table=True):
    """A member of staff who signs in with passkeys."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    locale: str | None = Field(default=None, max_length=8)
    active: bool = True
    # Granted by an admin: may handle privacy requests whatever the role.
    may_handle_privacy: bool = False
    # Random bytes sent as the WebAuthn user handle: never the row id.
    webauthn_handle: bytes = Field(sa_column=Column(LargeBinary, unique=True, nullable=False))
    created_at: datetime = _dt(default_factory=utcnow)


class Credential(SQLModel, table=True):
    """A passkey registered by a user."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    credential_id: bytes = Field(sa_column=Column(LargeBinary, unique=True, nullable=False))
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sign_count: int = 0
    transports: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    name: str = Field(default="", max_length=100)
    created_at: datetime = _dt(default_factory=utcnow)
    last_used_at: datetime | None = _dt(default=None)
    revoked_at: datetime | None = _dt(default=None)


class EnrolmentToken(SQLModel, table=True):
    """A one-time link that lets a user register a passkey; stored as a hash."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _dt(default_factory=utcnow)
    expires_at: datetime = _dt()
    used_at: datetime | None = _dt(default=None)


class WebSession(SQLModel, table=True):
    """A server-side session; the cookie holds a random id, this row its hash."""

    __tablename__ = "web_session"
    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(default_factory=utcnow)
    expires_at: datetime = _dt(index=True)


class Customer(SQLModel, table=True):
    """A company or a person the business sells to."""

    # Each index here is used by a hot query plan on SQLite or PostgreSQL (checked against
    # dropping them: docs/BENCHMARKS.md, "Import and export"); keep this list and the
    # migrations in step (tests/db/test_imports_indexes.py).
    __table_args__ = (
        Index("ix_customer_team_owner", "team_id", "owner_id"),
        Index("ix_customer_owner_next", "owner_id", "next_follow_up_on"),
        Index("ix_customer_team_next", "team_id", "next_follow_up_on"),
        # Added by 0002 for search and the customer list.
        Index("ix_customer_name_initials", "name_initials"),
        Index("ix_customer_name_pinyin", "name_pinyin"),
        Index("ix_customer_team_key", "team_id", "name_key"),
        Index("ix_customer_team_initials", "team_id", "name_initials"),
        Index("ix_customer_team_pinyin", "team_id", "name_pinyin"),
        # PostgreSQL: with the id, a 1-2 character search is an index-only scan (0015).
        Index(
            "ix_customer_like",
            "team_id",
            "owner_id",
            "name",
            "contact_name",
            postgresql_include=["id"],
        ),
        Index("ix_customer_next_follow_up", "next_follow_up_on", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=20)
    name: str = Field(max_length=200)
    name_key: str = Field(default="", max_length=200, index=True)
    name_pinyin: str = Field(default="", max_length=600)
    name_initials: str = Field(default="", max_length=200)
    kind: str = Field(default="company", max_length=16)
    phone: str = Field(default="", max_length=32, index=True)
    phone_last4: str = Field(default="", max_length=4, index=True)
    owner_id: int | None = Field(default=None, foreign_key="user.id")
    team_id: int = Field(foreign_key="team.id")
    level: str = Field(default="C", max_length=1)
    source: str = Field(default="other", max_length=16)
    contact_name: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=200)
    industry: str = Field(default="", max_length=100)
    needs: str = Field(default="")
    address: str = Field(default="", max_length=300)
    lat: float | None = None
    lng: float | None = None
    expected_amount_cents: int | None = None
    status: str = Field(default="potential", max_length=16)
    loss_reason: str | None = Field(default=None, max_length=32)
    stage: str = Field(default="lead", max_length=24)
    custom: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Short labels ("VIP", "展会2026"), at most domain.customers.MAX_TAGS; added by 0002.
    tags: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    next_follow_up_on: date | None = None
    last_visit_at: datetime | None = _dt(default=None)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)
    version: int = 1
    # Why the company holds this customer's data (domain.privacy.DataBasis); added by 0005.
    data_basis: str = Field(default="", max_length=16)
    data_basis_on: date | None = None


class Visit(SQLModel, table=True):
    """One touch with a customer: field visit, call, store visit, message, email."""

    __table_args__ = (
        Index("ix_visit_customer_at", "customer_id", "at"),
        Index("ix_visit_user_at", "user_id", "at"),
        Index("ix_visit_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    user_id: int = Field(foreign_key="user.id")
    outcome: str = Field(max_length=32)
    method: str = Field(max_length=16)
    at: datetime = _dt(default_factory=utcnow)
    device_at: datetime | None = _dt(default=None)
    lat: float | None = None
    lng: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = None
    note: str = ""
    feedback: str = ""
    next_action: str = ""
    next_action_due: date | None = None
    milestone: str | None = Field(default=None, max_length=32)
    amount_cents: int | None = None
    idempotency_key: str = Field(unique=True, max_length=64)
    # Added by 0014: when the server received the visit (`at` is when it happened: the
    # device time when plausible), when the location fix was taken, and why the device
    # time was not used ("future" / "too_old"; None when it was, or none was sent).
    received_at: datetime | None = _dt(default=None)
    fix_at: datetime | None = _dt(default=None)
    clock_note: str | None = Field(default=None, max_length=16)


class VisitSetting(SQLModel, table=True):
    """Admin settings of visit recording (one row, id 1); added by 0014."""

    __tablename__ = "visit_setting"

    id: int = Field(default=1, primary_key=True)
    device_max_age_hours: int = 72


class AuditEvent(SQLModel, table=True):
    """An append-only record of who did what, when and from where."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _dt(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=64)
    entity: str = Field(default="", max_length=32)
    entity_id: int | None = None
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ip: str = Field(default="", max_length=64)


class StageChange(SQLModel, table=True):
    """History of a customer's stage and status: who moved it, from what, to what, why."""

    __tablename__ = "stage_change"
    __table_args__ = (
        Index("ix_stage_change_at", "at"),
        # Added by 0005: "since when is the customer in this stage" is one index seek.
        Index("ix_stage_change_customer_at", "customer_id", "to_stage", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = _dt(default_factory=utcnow)
    from_stage: str | None = Field(default=None, max_length=24)
    to_stage: str | None = Field(default=None, max_length=24)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=32)
    # Added by 0005: the mover's optional words (for a loss "other", the reason itself).
    comment: str = Field(default="", sa_column_kwargs={"server_default": ""})


class Outcome(SQLModel, table=True):
    """A preset a visit is logged with; admins edit the list (PRODUCT.md §4)."""

    code: str = Field(primary_key=True, max_length=32)
    label_en: str = Field(max_length=60)
    label_zh: str = Field(max_length=60)
    method: str = Field(max_length=16)
    asks_amount: bool = False
    position: int = 0
    active: bool = True


class Cadence(SQLModel, table=True):
    """How many days after a visit a customer of a level is due again (admin-editable)."""

    level: str = Field(primary_key=True, max_length=1)
    days: int


class RecentlyViewed(SQLModel, table=True):
    """The customers a user opened lately, for the Today page (one row per user and customer)."""

    __tablename__ = "recently_viewed"
    __table_args__ = (Index("ix_recently_viewed_user_at", "user_id", "viewed_at"),)

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    customer_id: int = Field(foreign_key="customer.id", primary_key=True, ondelete="CASCADE")
    viewed_at: datetime = _dt(default_factory=utcnow)


class Contact(SQLModel, table=True):
    """A person at a customer: their role in the decision chain and how to reach them."""

    __table_args__ = (Index("ix_contact_name", "name", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    role: str = Field(default="other", max_length=24)
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=500)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)


class CustomFieldDefinition(SQLModel, table=True):
    """A customer field an admin defined (domain.customers.CustomFieldDef as a row)."""

    __tablename__ = "custom_field"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=40)
    label_en: str = Field(max_length=100)
    label_zh: str = Field(max_length=100)
    kind: str = Field(default="text", max_length=16)
    required: bool = False
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    position: int = 0
    active: bool = True
    created_at: datetime = _dt(default_factory=utcnow)


class CustomerNumberCounter(SQLModel, table=True):
    """The last customer number handed out in a month ("202611" → 37 means C202611037)."""

    __tablename__ = "customer_number_counter"

    period: str = Field(primary_key=True, max_length=6)
    last: int = 0


class RfmSetting(SQLModel, table=True):
    """Admin-set thresholds of the store member tiers (one row, id 1)."""

    __tablename__ = "rfm_setting"

    id: int = Field(default=1, primary_key=True)
    recency_core_days: int = 30
    recency_key_days: int = 90
    frequency_core: int = 6
    frequency_key: int = 3
    monetary_core_cents: int = 500_000
    monetary_key_cents: int = 100_000


class RateLimitHit(SQLModel, table=True):
    """How often a key (an address, enrolment link, passkey or session) was used in a minute.

    Kept in the database so every server process counts against the same limit.
    """

    __tablename__ = "rate_limit_hit"

    key: str = Field(primary_key=True, max_length=80)
    window: int = Field(primary_key=True)  # Unix minute: the timestamp // 60
    hits: int = 0


class ApprovalRequest(SQLModel, table=True):
    """A change waiting for a manager: what (kind + payload), about whom, by whom, the decision."""

    __tablename__ = "approval_request"
    __table_args__ = (
        Index("ix_approval_team_state", "team_id", "state"),
        Index("ix_approval_customer_state", "customer_id", "state"),
        Index("ix_approval_requester", "requested_by", "decided_at"),
        # At most one pending request per customer: a change cannot wait (or apply) twice.
        Index(
            "ux_approval_customer_pending",
            "customer_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    customer_id: int = Field(foreign_key="customer.id")
    team_id: int = Field(foreign_key="team.id")
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime = _dt(default_factory=utcnow)
    state: str = Field(default="pending", max_length=16)
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = _dt(default=None)
    decision_comment: str = ""


class SalesStageRule(SQLModel, table=True):
    """Admin-set per stage: fields required to enter it, days after which a deal is stuck."""

    __tablename__ = "sales_stage_rule"

    stage: str = Field(primary_key=True, max_length=24)
    required: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stuck_days: int | None = None


class ApprovalRule(SQLModel, table=True):
    """Admin-set: whether a kind of change needs a manager's approval."""

    __tablename__ = "approval_rule"

    kind: str = Field(primary_key=True, max_length=32)
    required: bool = True


class PrivacyRequest(SQLModel, table=True):
    """A person's request to see, copy, correct or delete their data (PIPL Art. 44-50)."""

    __tablename__ = "privacy_request"
    __table_args__ = (Index("ix_privacy_request_status_due", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    requester: str = Field(max_length=500)
    contact: str = Field(default="", max_length=500)
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=500)
    received_on: date
    due_on: date
    status: str = Field(default="open", max_length=16)
    reason: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _dt(default_factory=utcnow)
    closed_at: datetime | None = _dt(default=None)


class LegalHold(SQLModel, table=True):
    """A customer that must be kept (an open contract, a dispute): erasure is refused."""

    __tablename__ = "legal_hold"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    reason: str = Field(max_length=500)
    set_by: int | None = Field(default=None, foreign_key="user.id")
    set_at: datetime = _dt(default_factory=utcnow)


class PrivacySetting(SQLModel, table=True):
    """Admin-set privacy periods (one row, id 1)."""

    __tablename__ = "privacy_setting"

    id: int = Field(default=1, primary_key=True)
    request_due_days: int = 15
    location_retention_days: int = 180


class AuditRedactionGate(SQLModel, table=True):
    """While a row is here (inside one transaction), audit details may be redacted."""

    __tablename__ = "audit_redaction_gate"

    id: int = Field(primary_key=True)


class SearchIndexGate(SQLModel, table=True):
    """While a row is here (inside one transaction), new customers and contacts do not
    write the search index: the writer (a bulk import) writes their rows itself, once."""

    __tablename__ = "search_index_gate"

    id: int = Field(primary_key=True)


class TransferSetting(SQLModel, table=True):
    """Admin-set per role: whether its users may export data and import customers."""

    __tablename__ = "transfer_setting"

    role: str = Field(primary_key=True, max_length=16)
    may_export: bool = False
    may_import: bool = False


class ImportJob(SQLModel, table=True):
    """One upload of a spreadsheet of customers: its file, mapping, progress and outcome."""

    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = Field(foreign_key="user.id", index=True)
    team_id: int = Field(foreign_key="team.id")
    filename: str = Field(max_length=200)
    file: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sheet: str = Field(default="", max_length=100)
    sheets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    headers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mapping: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    duplicate_mode: str = Field(default="skip", max_length=16)
    # draft -> checked -> running -> done | stopped; done -> undone
    state: str = Field(default="draft", max_length=16)
    total: int = 0
    done: int = 0
    stopped_at_line: int | None = None
    error: str = ""
    created_at: datetime = _dt(default_factory=utcnow)
    started_at: datetime | None = _dt(default=None)
    finished_at: datetime | None = _dt(default=None)
    # The server process running the job ("host:pid") and when it last said it still does:
    # with several workers, only a job whose process died is marked stopped.
    owner: str = Field(default="", max_length=64)
    heartbeat_at: datetime | None = _dt(default=None)
    # The stored upload was dropped by an erasure (it held the person); added by 0013.
    file_erased: bool = False
    # context_digest of the preview that stored the rows' checks ("" none); added by 0015.
    check_digest: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class ImportRow(SQLModel, table=True):
    """One line of an import's file: its cells, verdict and what importing it did."""

    __tablename__ = "import_row"
    __table_args__ = (
        Index("ix_import_row_job_line", "job_id", "line"),
        Index("ix_import_row_job_verdict", "job_id", "verdict", "line"),
        Index("ix_import_row_customer", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="import_job.id")
    line: int
    cells: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    verdict: str = Field(default="", max_length=24)
    reason: str = ""
    duplicate_of: int | None = None
    customer_id: int | None = None
    # created | updated | skipped | failed, once the row is imported
    action: str = Field(default="", max_length=16)
    # The fields an update changed, with their earlier values (what undo restores).
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # What the row did to contacts: {"added": [ids]} or {"changed": {id: {field: earlier}}};
    # added by 0013.
    contacts: dict = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    # The preview's check of the row (domain.imports.check_dump), which the import reuses
    # while nothing it depends on changed; emptied once the row is imported. Added by 0015.
    checked: dict = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class ImportSetting(SQLModel, table=True):
    """Admin-set import limits (one row, id 1); added by 0013."""

    __tablename__ = "import_setting"

    id: int = Field(default=1, primary_key=True)
    max_upload_mb: int = 20


class ImportMapping(SQLModel, table=True):
    """A saved column mapping, offered again for a file with the same headers."""

    __tablename__ = "import_mapping"

    signature: str = Field(primary_key=True, max_length=2000)
    mapping: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    saved_by: int | None = Field(default=None, foreign_key="user.id")
    saved_at: datetime = _dt(default_factory=utcnow)


class PoolSetting(SQLModel, table=True):
    """Admin-set pool limits and the automatic return rule (one row, id 1); added by 0007."""

    __tablename__ = "pool_setting"

    id: int = Field(default=1, primary_key=True)
    claims_per_day: int = 10
    max_owned: int = 300
    cooling_days: int = 7
    return_a_days: int = 30
    return_b_days: int = 60
    return_c_days: int = 90
    won_exempt: bool = True
    warn_days: int = 3
    run_hour: int = 2


class PoolClaimCount(SQLModel, table=True):
    """How many customers a user claimed on a local day, counted in the database."""

    __tablename__ = "pool_claim_count"

    user_id: int = Field(primary_key=True, foreign_key="user.id")
    day: date = Field(primary_key=True)
    claims: int = 0


class PoolEvent(SQLModel, table=True):
    """One ownership change through the pool: claim, release, return, assign (history, counts)."""

    __tablename__ = "pool_event"
    __table_args__ = (
        Index("ix_pool_event_customer_at", "customer_id", "at"),
        Index("ix_pool_event_team_at", "team_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    team_id: int = Field(foreign_key="team.id")
    kind: str = Field(max_length=16)
    from_user_id: int | None = Field(default=None, foreign_key="user.id")
    to_user_id: int | None = Field(default=None, foreign_key="user.id")
    by_user_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = _dt(default_factory=utcnow)
    reason: str = ""


class PoolLease(SQLModel, table=True):
    """Who runs a once-a-day job until when: of several server processes only one runs it."""

    __tablename__ = "pool_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(default="", max_length=64)
    until: datetime = _dt(default_factory=utcnow)
    last_day: date | None = None
