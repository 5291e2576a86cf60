"""Enterprise licensing: organizations, members, licenses and keys, usage, white-label
settings and support tickets (DESIGN §13). Prices are USD decimal strings; usage
quantities are JSON integers (counts, not money)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, SecretStr, StrictInt, StrictStr

from api.ids import UserIdField
from api.schemas.common import AmountIn, AmountOut, Input
from ledger import USD, format_amount, parse_amount
from monetization.licensing import (
    Branding,
    Claims,
    Comment,
    Domain,
    License,
    LicenseRequest,
    Limits,
    Member,
    MetricTotal,
    Org,
    PublishedKey,
    SlaReport,
    SsoSettings,
    Ticket,
    Tier,
    Verdict,
)
from monetization.licensing.keyformat import KEY_MAX_CHARS, LIMIT_MAX, SEATS_MAX

ORG_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ZERO = re.compile(r"0(\.0{1,2})?")
OrgIdField = Annotated[StrictStr, Field(pattern=ORG_ID, max_length=64, examples=["acme"])]
RoleName = Literal["owner", "admin", "member"]
TierName = Literal["starter", "professional", "enterprise", "custom"]
PriorityName = Literal["low", "normal", "high", "urgent"]
StatusName = Literal["open", "pending", "resolved", "closed"]
LimitValue = Annotated[StrictInt | None, Field(ge=0, le=LIMIT_MAX)]
PaymentMethod = Annotated[
    StrictStr,
    Field(pattern=r"^[A-Za-z0-9_]{1,64}$", examples=["pm_card_visa"],
          description="Charged monthly by the billing run. Local provider: `pm_card_visa`, "
          "`pm_card_chargeDeclined`, `pm_card_unavailable`."),
]  # fmt: skip


def usd(cents: int) -> str:
    return format_amount(cents, USD)


def _price(text: str) -> int:
    """Cents of a price; ``"0"`` (a free license) too, which amounts refuse elsewhere."""
    return 0 if ZERO.fullmatch(text) else parse_amount(text, USD)


class Page(BaseModel):
    next_cursor: str | None


# --- organizations and members --------------------------------------------------------------


class OrgCreate(Input):
    id: OrgIdField
    name: Annotated[StrictStr, Field(min_length=1, max_length=200, examples=["Acme Academy"])]
    owner_user_id: UserIdField


class SeatsPublic(BaseModel):
    used: int
    limit: int


class OrgPublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    seats: SeatsPublic

    @classmethod
    def build(cls, o: Org) -> OrgPublic:
        return cls(id=o.id, name=o.name, created_at=o.created_at,
                   seats=SeatsPublic(used=o.seats.used, limit=o.seats.limit))  # fmt: skip


class OrgPage(Page):
    data: list[OrgPublic]


class MemberCreate(Input):
    user_id: UserIdField
    role: RoleName = "member"


class MemberPublic(BaseModel):
    org_id: str
    user_id: str
    role: RoleName
    joined_at: datetime

    @classmethod
    def build(cls, m: Member) -> MemberPublic:
        return cls(org_id=m.org_id, user_id=m.user_id, role=m.role.value, joined_at=m.joined_at)


class MemberPage(Page):
    data: list[MemberPublic]


# --- licenses and keys ----------------------------------------------------------------------


class LimitsIn(Input):
    api_calls_per_month: LimitValue = None
    storage_bytes: LimitValue = None
    active_users: LimitValue = None


class LimitsPublic(BaseModel):
    api_calls_per_month: int | None = Field(description="null: unlimited")
    storage_bytes: int | None
    active_users: int | None

    @classmethod
    def build(cls, limits: Limits) -> LimitsPublic:
        return cls(**limits.as_json())


class LicenseCreate(Input):
    tier: TierName
    seats: Annotated[StrictInt, Field(ge=1, le=SEATS_MAX)]
    limits: LimitsIn = Field(default_factory=LimitsIn)
    price: AmountIn | None = Field(
        default=None,
        description="USD per month. professional: 99.00 (the default); enterprise: at least "
        "299.00 (the default); starter and custom: per contract (required).",
    )
    expires_at: AwareDatetime
    payment_method: PaymentMethod | None = None

    def to_domain(self) -> LicenseRequest:
        price = None if self.price is None else _price(self.price)
        limits = Limits(self.limits.api_calls_per_month, self.limits.storage_bytes,
                        self.limits.active_users)  # fmt: skip
        return LicenseRequest(Tier(self.tier), self.seats, limits, self.expires_at, price,
                              self.payment_method)  # fmt: skip


class LicensePublic(BaseModel):
    id: str
    org_id: str
    key: str | None = Field(description="The azl1 key (owners, admins and the platform only)")
    kid: str
    tier: TierName
    seats: int
    limits: LimitsPublic
    price: AmountOut
    currency: str = "USD"
    interval: str = "month"
    status: Literal["active", "expired", "revoked"]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    billing_status: Literal["none", "current", "past_due", "unpaid", "ended"]
    periods_charged: int
    next_charge_at: datetime | None

    @classmethod
    def build(cls, lic: License, now: datetime, *, with_key: bool) -> LicensePublic:
        return cls(
            id=lic.id, org_id=lic.org_id, key=lic.key if with_key else None, kid=lic.kid,
            tier=lic.tier.value, seats=lic.seats, limits=LimitsPublic.build(lic.limits),
            price=usd(lic.price_cents), status=lic.status(now).value, issued_at=lic.issued_at,
            expires_at=lic.expires_at, revoked_at=lic.revoked_at,
            billing_status=lic.billing_status.value, periods_charged=lic.periods_charged,
            next_charge_at=lic.retry_at or lic.next_charge_at,
        )  # fmt: skip


class LicensePage(Page):
    data: list[LicensePublic]


class KeyPublic(BaseModel):
    kid: str
    alg: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="base64url (no padding) of the 32 raw bytes")
    status: Literal["active", "retired"]

    @classmethod
    def build(cls, k: PublishedKey) -> KeyPublic:
        return cls(kid=k.kid, public_key=k.public_key, status=k.status)  # type: ignore[arg-type]


class KeyList(BaseModel):
    keys: list[KeyPublic]


class ValidateIn(Input):
    key: Annotated[
        StrictStr,
        Field(
            pattern=r"^[A-Za-z0-9_.-]+$",
            max_length=KEY_MAX_CHARS,
            description="An azl1 key: base64url parts joined by dots",
        ),
    ]


class ClaimsPublic(BaseModel):
    v: int
    lid: str
    org: str
    tier: str
    seats: int
    limits: LimitsPublic
    iat: int
    exp: int
    kid: str

    @classmethod
    def build(cls, c: Claims) -> ClaimsPublic:
        data: dict[str, Any] = c.as_json()
        return cls(**{**data, "limits": LimitsPublic.build(c.limits)})


class Validation(BaseModel):
    valid: bool
    reason: Literal["malformed", "bad-signature", "unknown-key", "expired", "revoked"] | None
    claims: ClaimsPublic | None = Field(description="Only once the signature verified")

    @classmethod
    def build(cls, v: Verdict) -> Validation:
        claims = None if v.claims is None else ClaimsPublic.build(v.claims)
        reason = None if v.reason is None else v.reason.value
        return cls(valid=v.valid, reason=reason, claims=claims)  # type: ignore[arg-type]


# --- usage ------------------------------------------------------------------------------------


class UsageCreate(Input):
    event_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", max_length=128)]
    metric: Literal["api_calls", "storage_bytes", "active_users"]
    quantity: Annotated[
        StrictInt,
        Field(ge=-LIMIT_MAX, le=LIMIT_MAX,
              description="Positive; storage_bytes may be negative (bytes freed)"),
    ]  # fmt: skip


class UsageRecorded(BaseModel):
    event_id: str
    metric: str
    month: str
    month_total: int
    limit: int | None = Field(description="null: unlimited")


class MetricPublic(BaseModel):
    total: int
    events: int
    limit: int | None

    @classmethod
    def build(cls, m: MetricTotal) -> MetricPublic:
        return cls(total=m.total, events=m.events, limit=m.limit)


class UsageReport(BaseModel):
    org_id: str
    month: str
    metrics: dict[str, MetricPublic]


# --- white-label ------------------------------------------------------------------------------


class BrandingIn(Input):
    display_name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    logo_url: Annotated[StrictStr, Field(max_length=2048)] | None = None
    primary_color: Annotated[StrictStr, Field(pattern=r"^#[0-9A-Fa-f]{6}$", examples=["#0B5FFF"])]
    accent_color: Annotated[StrictStr, Field(pattern=r"^#[0-9A-Fa-f]{6}$")] | None = None
    support_email: Annotated[StrictStr, Field(max_length=254)] | None = None

    def to_domain(self) -> Branding:
        return Branding(self.display_name, self.primary_color, self.logo_url,
                        self.accent_color, self.support_email)  # fmt: skip


class BrandingPublic(BaseModel):
    display_name: str
    logo_url: str | None
    primary_color: str
    accent_color: str | None
    support_email: str | None
    updated_at: datetime | None = Field(description="null: never set (the defaults)")

    @classmethod
    def build(cls, b: Branding) -> BrandingPublic:
        return cls(display_name=b.display_name, logo_url=b.logo_url,
                   primary_color=b.primary_color, accent_color=b.accent_color,
                   support_email=b.support_email, updated_at=b.updated_at)  # fmt: skip


class DomainCreate(Input):
    domain: Annotated[StrictStr, Field(min_length=3, max_length=253, examples=["learn.acme.com"])]


class DomainPublic(BaseModel):
    domain: str
    status: Literal["pending", "verified"]
    txt_name: str
    txt_value: str
    created_at: datetime
    checked_at: datetime | None
    verified_at: datetime | None

    @classmethod
    def build(cls, d: Domain) -> DomainPublic:
        return cls(domain=d.domain, status=d.status, txt_name=d.txt_name,  # type: ignore[arg-type]
                   txt_value=d.txt_value, created_at=d.created_at, checked_at=d.checked_at,
                   verified_at=d.verified_at)  # fmt: skip


class DomainPage(Page):
    data: list[DomainPublic]


class SsoIn(Input):
    protocol: Literal["oidc", "saml"]
    issuer: Annotated[StrictStr, Field(max_length=2048)] | None = None
    client_id: Annotated[StrictStr, Field(max_length=255)] | None = None
    client_secret: Annotated[SecretStr, Field(max_length=1024)] | None = Field(
        default=None, description="Write-only; kept as it is when left out"
    )
    metadata_url: Annotated[StrictStr, Field(max_length=2048)] | None = None


class SsoPublic(BaseModel):
    protocol: Literal["oidc", "saml"]
    issuer: str | None
    client_id: str | None
    client_secret_set: bool
    metadata_url: str | None
    updated_at: datetime

    @classmethod
    def build(cls, s: SsoSettings) -> SsoPublic:
        return cls(protocol=s.protocol, issuer=s.issuer,  # type: ignore[arg-type]
                   client_id=s.client_id, client_secret_set=s.client_secret_set,
                   metadata_url=s.metadata_url, updated_at=s.updated_at)  # fmt: skip


# --- tickets -----------------------------------------------------------------------------------


class TicketCreate(Input):
    subject: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    body: Annotated[StrictStr, Field(min_length=1, max_length=20_000)]
    priority: PriorityName = "normal"


class TicketPatch(Input):
    status: StatusName | None = None
    priority: PriorityName | None = None
    assignee_id: UserIdField | None = Field(default=None, description="null unassigns")


class TicketPublic(BaseModel):
    id: str
    org_id: str
    subject: str
    body: str
    priority: PriorityName
    status: StatusName
    tier: str
    opened_by: str
    assignee_id: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    breached: bool
    first_response_breached: bool
    resolution_breached: bool

    @classmethod
    def build(cls, t: Ticket) -> TicketPublic:
        return cls(
            id=t.id, org_id=t.org_id, subject=t.subject, body=t.body,
            priority=t.priority.value, status=t.status.value, tier=t.tier,
            opened_by=t.opened_by, assignee_id=t.assignee_id, created_at=t.created_at,
            updated_at=t.updated_at, first_response_due_at=t.first_response_due_at,
            resolution_due_at=t.resolution_due_at, first_response_at=t.first_response_at,
            resolved_at=t.resolved_at, breached=t.breached,
            first_response_breached=t.first_response_breached,
            resolution_breached=t.resolution_breached,
        )  # fmt: skip


class TicketPage(Page):
    data: list[TicketPublic]


class CommentCreate(Input):
    body: Annotated[StrictStr, Field(min_length=1, max_length=20_000)]


class CommentPublic(BaseModel):
    id: str
    ticket_id: str
    author_kind: Literal["support", "org"]
    author_id: str
    body: str
    created_at: datetime

    @classmethod
    def build(cls, c: Comment) -> CommentPublic:
        return cls(id=c.id, ticket_id=c.ticket_id, author_kind=c.author_kind,  # type: ignore[arg-type]
                   author_id=c.author_id, body=c.body, created_at=c.created_at)  # fmt: skip


class CommentPage(Page):
    data: list[CommentPublic]


class SlaReportPublic(BaseModel):
    org_id: str
    month: str
    tickets: int
    first_response_met: int
    resolution_met: int
    first_response_breached: int
    resolution_breached: int
    pending: int = Field(description="Targets neither met nor due yet")
    compliance: str | None = Field(
        description="Targets met / targets decided, 0.0000-1.0000; null when none is decided"
    )

    @classmethod
    def build(cls, org_id: str, r: SlaReport) -> SlaReportPublic:
        return cls(
            org_id=org_id, month=r.month, tickets=r.tickets,
            first_response_met=r.first_response.met, resolution_met=r.resolution.met,
            first_response_breached=r.first_response.breached,
            resolution_breached=r.resolution.breached,
            pending=r.first_response.pending + r.resolution.pending,
            compliance=r.compliance.text(),
        )  # fmt: skip
