"""Enterprise licensing (DESIGN §13): organizations with members, roles and seats;
licenses as Ed25519-signed ``azl1`` keys with published, rotating signing keys; usage
with limits; white-label branding, verified domains and SSO; support tickets with SLA.

Build everything with :func:`build_licensing` (the composition root's one call); the
billing run makes the monthly license charges through :meth:`Licensing.charges`, and the
maintenance round flags SLA breaches through :meth:`Licensing.check_sla`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Engine

from monetization.licensing.branding import Branding, Brandings
from monetization.licensing.charges import KIND_CHARGE, REVENUE_ACCOUNT, LicenseCharges
from monetization.licensing.compliance import SlaCheck, SlaMonitor, SlaReport, TargetCounts
from monetization.licensing.dns import DnsTxtResolver, StaticTxtResolver, TxtResolver
from monetization.licensing.domains import Domain, Domains
from monetization.licensing.errors import (
    DnsUnavailable,
    DomainNotVerified,
    DomainTaken,
    InvalidLicense,
    LastOwner,
    LicenseNotFound,
    OrgExists,
    OrgNotFound,
    SeatLimitReached,
    SigningKeyMismatch,
    TicketStateConflict,
    UsageLimitExceeded,
)
from monetization.licensing.keyformat import Claims, Limits, Reason, Verdict, verify
from monetization.licensing.licenses import Licenses
from monetization.licensing.model import (
    BillingStatus,
    License,
    LicenseRequest,
    LicenseStatus,
    Member,
    Org,
    Role,
    Seats,
    Tier,
)
from monetization.licensing.orgs import Organizations
from monetization.licensing.signing import PublishedKey, SigningKeys
from monetization.licensing.sla import SLA_TARGETS, Priority
from monetization.licensing.sso import SingleSignOn, SsoRequest, SsoSettings
from monetization.licensing.tickets import Comment, Status, Ticket, TicketChange, Tickets
from monetization.licensing.usage import Metric, MetricTotal, Recorded, Usage
from monetization.payments import Payments
from monetization.sealing import Sealer

DEFAULT_RETRY_DAYS = (1, 3, 5, 7)


@dataclass(frozen=True, slots=True)
class LicensingConfig:
    """``charge_retry_days``: after a declined license charge, retries this many days
    after the month's start (then ``unpaid``)."""

    charge_retry_days: tuple[int, ...] = DEFAULT_RETRY_DAYS


class Licensing:
    """The licensing domain's services, built once per process by :func:`build_licensing`."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        config: LicensingConfig,
        *,
        signing: SigningKeys,
        sealer: Callable[[], Sealer],
        resolver: Callable[[], TxtResolver],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.config = config
        self.signing = signing
        self.licenses = Licenses(engine, signing, clock)
        self.orgs = Organizations(engine, self.licenses, clock)
        self.usage = Usage(engine, self.licenses, clock)
        self.branding = Brandings(engine, clock)
        self.domains = Domains(engine, resolver, clock)
        self.sso = SingleSignOn(engine, sealer, clock)
        self.tickets = Tickets(engine, self.licenses, clock)
        self.sla = SlaMonitor(engine, clock)

    def charges(self, payments: Payments) -> LicenseCharges:
        """The monthly license charges, for ``Billing.add_charges``."""
        return LicenseCharges(self.engine, payments, self.config.charge_retry_days, self.clock)

    def check_sla(self, now: datetime | None = None) -> SlaCheck:
        return self.sla.check(now)


def build_licensing(
    engine: Engine,
    clock: Callable[[], datetime],
    *,
    signing_secret: Callable[[], str],
    sso_secrets: Callable[[], Sequence[str]],
    resolver: Callable[[], TxtResolver],
    config: LicensingConfig | None = None,
) -> Licensing:
    """Everything licensing needs from what the composition root owns. The secrets are
    asked for on first use (a command that signs nothing never needs them)."""
    sealer = cache(lambda: Sealer(sso_secrets()))
    signing = SigningKeys(engine, signing_secret, clock)
    return Licensing(
        engine, clock, config or LicensingConfig(), signing=signing, sealer=sealer,
        resolver=resolver,
    )  # fmt: skip


__all__ = [
    "KIND_CHARGE",
    "REVENUE_ACCOUNT",
    "SLA_TARGETS",
    "BillingStatus",
    "Branding",
    "Claims",
    "Comment",
    "DnsTxtResolver",
    "DnsUnavailable",
    "Domain",
    "DomainNotVerified",
    "DomainTaken",
    "InvalidLicense",
    "LastOwner",
    "License",
    "LicenseCharges",
    "LicenseNotFound",
    "LicenseRequest",
    "LicenseStatus",
    "Licensing",
    "LicensingConfig",
    "Limits",
    "Member",
    "Metric",
    "MetricTotal",
    "Org",
    "OrgExists",
    "OrgNotFound",
    "Priority",
    "PublishedKey",
    "Reason",
    "Recorded",
    "Role",
    "SeatLimitReached",
    "Seats",
    "SigningKeyMismatch",
    "SlaCheck",
    "SlaReport",
    "SsoRequest",
    "SsoSettings",
    "StaticTxtResolver",
    "Status",
    "TargetCounts",
    "Ticket",
    "TicketChange",
    "TicketStateConflict",
    "Tier",
    "TxtResolver",
    "UsageLimitExceeded",
    "Verdict",
    "build_licensing",
    "verify",
]
