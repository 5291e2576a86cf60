"""The licensing domain's values: organizations, roles, tiers and licenses.

Tiers (DESIGN §13): ``professional`` is $99/month, ``enterprise`` from $299/month,
``starter`` and ``custom`` are priced per contract. Each month a license is active is
charged in full by the billing run, from its issue date, on the same day each month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monetization.licensing.keyformat import Limits


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class Tier(StrEnum):
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"
    CUSTOM = "custom"


class LicenseStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class BillingStatus(StrEnum):
    NONE = "none"  # nothing to charge (a free license)
    CURRENT = "current"
    PAST_DUE = "past_due"  # a charge was declined; retried on the retry days
    UNPAID = "unpaid"  # every retry failed: no more automatic attempts
    ENDED = "ended"  # expired or revoked: nothing more to charge


# (fixed price in cents or None, minimum price in cents or None): None = per contract.
TIER_PRICES: dict[Tier, tuple[int | None, int | None]] = {
    Tier.STARTER: (None, None),
    Tier.PROFESSIONAL: (9_900, 9_900),
    Tier.ENTERPRISE: (None, 29_900),
    Tier.CUSTOM: (None, None),
}
# An organization without an active license has one seat: its owner.
UNLICENSED_SEATS = 1


@dataclass(frozen=True, slots=True)
class Seats:
    used: int
    limit: int


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    created_at: datetime
    seats: Seats


@dataclass(frozen=True, slots=True)
class Member:
    org_id: str
    user_id: str
    role: Role
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class LicenseRequest:
    """What an admin asks for; ``price_cents`` None takes the tier's price."""

    tier: Tier
    seats: int
    limits: Limits
    expires_at: datetime
    price_cents: int | None = None
    payment_method: str | None = None


@dataclass(frozen=True, slots=True)
class License:
    id: str
    org_id: str
    tier: Tier
    seats: int
    limits: Limits
    price_cents: int
    payment_method: str | None
    kid: str
    key: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    periods_charged: int
    next_charge_at: datetime | None
    retry_at: datetime | None
    failed_attempts: int
    billing_status: BillingStatus
    version: int

    def status(self, now: datetime) -> LicenseStatus:
        if self.revoked_at is not None:
            return LicenseStatus.REVOKED
        return LicenseStatus.ACTIVE if now < self.expires_at else LicenseStatus.EXPIRED
