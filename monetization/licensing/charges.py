"""Monthly license charges, made by the billing run (``azora billing run``, the
maintenance round) through billing's :class:`~monetization.billing.PeriodicCharges` port.

A priced license is charged its monthly price for every month it is active, from its issue
date, on the same day each month (clamped to the month's end), into
``platform:revenue:enterprise`` as ledger entries of kind ``license.charge``. Exactly one
charge per license per month, even with two runs at once: the ledger key is
``license:charge:{id}:{month start}`` (one entry per month, ever), the provider key adds the
attempt, and a run that loses the compare-and-set on the license's version counts nothing.

A declined charge makes the license ``past_due`` and is retried ``retry_days`` after the
month's start; when the last retry fails too it is ``unpaid`` and retried no more (the
license stays valid: a contract matter for the platform, which may revoke it). An
unavailable provider changes nothing: the next run tries the same charge again. Revoked
and expired licenses are charged no more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from ledger import InvalidRequest
from monetization.billing import RunReport
from monetization.billing.periods import add_month
from monetization.licensing.licenses import license_from_row
from monetization.licensing.model import BillingStatus, License
from monetization.licensing.store import begin_write
from monetization.licensing.tables import licensing_licenses as L
from monetization.payments import (
    Captured,
    PaymentDeclined,
    PaymentProviderUnavailable,
    PaymentRequest,
    Payments,
)

log = logging.getLogger(__name__)

KIND_CHARGE = "license.charge"
REVENUE_ACCOUNT = "platform:revenue:enterprise"
BATCH_SIZE = 500
BATCHES_MAX = 20_000  # ten million licenses per pass
# A run catches up at most this many missed months per license (a run years late, or a
# hostile --now, must still end); the next run goes on from there.
CATCH_UP_PERIODS_MAX = 24
CHARGEABLE = (BillingStatus.CURRENT.value, BillingStatus.PAST_DUE.value)


@dataclass(frozen=True, slots=True)
class DueCharge:
    license: License
    period_start: datetime
    period_end: datetime | None  # None: the month after would pass year 9999

    @property
    def attempt(self) -> int:
        return self.license.failed_attempts + 1

    def request(self) -> PaymentRequest:
        lic = self.license
        start = int(self.period_start.timestamp())
        assert lic.payment_method is not None, "a priced license keeps its payment method"
        return PaymentRequest(
            customer=lic.org_id,
            amount=lic.price_cents,
            payment_method=lic.payment_method,
            key=f"license:charge:{lic.id}:{start}:{self.attempt}",
            ledger_key=f"license:charge:{lic.id}:{start}",
            kind=KIND_CHARGE,
            purpose="license",
            destinations=((REVENUE_ACCOUNT, lic.price_cents),),
            metadata={
                "license_id": lic.id,
                "org_id": lic.org_id,
                "tier": lic.tier.value,
                "period_start": self.period_start.isoformat(),
            },
            effective_at=self.period_start,
            description=f"Azora {lic.tier.value} license",
        )


def due_charge(lic: License) -> DueCharge | None:
    """The month to charge now, or None when the license is past its last month."""
    start = lic.next_charge_at
    if start is None or start >= lic.expires_at:
        return None
    try:
        end: datetime | None = add_month(start, lic.issued_at.day)
    except InvalidRequest:
        end = None
    return DueCharge(lic, start, end)


def after_capture(due: DueCharge) -> dict[str, Any]:
    return {
        "periods_charged": due.license.periods_charged + 1, "next_charge_at": due.period_end,
        "retry_at": None, "failed_attempts": 0,
        "billing_status": (BillingStatus.CURRENT if due.period_end else BillingStatus.ENDED).value,
    }  # fmt: skip


def after_decline(due: DueCharge, retry_days: Sequence[int]) -> dict[str, Any]:
    failed = due.license.failed_attempts + 1
    if failed > len(retry_days):
        return {"failed_attempts": failed, "retry_at": None,
                "billing_status": BillingStatus.UNPAID.value}  # fmt: skip
    return {
        "failed_attempts": failed,
        "retry_at": due.period_start + timedelta(days=retry_days[failed - 1]),
        "billing_status": BillingStatus.PAST_DUE.value,
    }


ENDED = {"next_charge_at": None, "retry_at": None, "billing_status": BillingStatus.ENDED.value}


class LicenseCharges:
    def __init__(
        self,
        engine: Engine,
        payments: Payments,
        retry_days: Sequence[int],
        clock: Callable[[], datetime],
    ) -> None:
        assert retry_days and list(retry_days) == sorted(set(retry_days)), retry_days
        self.engine = engine
        self.payments = payments
        self.retry_days = tuple(retry_days)
        self.clock = clock

    def run(self, now: datetime) -> RunReport:
        """Charge every license month due by ``now``: passes over the due licenses until
        one moves nothing (a month charged moves a license to its next month)."""
        report = RunReport()
        self.payments.open_accounts([REVENUE_ACCOUNT])
        for _ in range(CATCH_UP_PERIODS_MAX):
            if self._pass(now, report) == 0:
                break
        return report

    def _pass(self, now: datetime, report: RunReport) -> int:
        moved = 0
        after = ""
        for _ in range(BATCHES_MAX):
            batch = self._due(now, after)
            if not batch:
                break
            after = batch[-1].id
            moved += self._batch(batch, report)
        return moved

    def _due(self, now: datetime, after: str) -> list[License]:
        due_now = or_(and_(L.c.retry_at.is_(None), L.c.next_charge_at <= now), L.c.retry_at <= now)
        stmt = (
            select(L)
            .where(L.c.revoked_at.is_(None), L.c.billing_status.in_(CHARGEABLE), due_now)
            .where(L.c.id > after)
            .order_by(L.c.id)
            .limit(BATCH_SIZE)
        )
        with self.engine.connect() as conn:
            return [license_from_row(r) for r in conn.execute(stmt)]

    def _batch(self, licenses: list[License], report: RunReport) -> int:
        changes: list[tuple[License, dict[str, Any], str]] = []
        dues = []
        for lic in licenses:
            due = due_charge(lic)
            if due is None:
                changes.append((lic, ENDED, "ended"))
            else:
                dues.append(due)
        outcomes = self.payments.collect_many([d.request() for d in dues])
        for due, outcome in zip(dues, outcomes, strict=True):
            if isinstance(outcome, Captured):
                changes.append((due.license, after_capture(due), "charged"))
            elif isinstance(outcome, PaymentProviderUnavailable):
                report.failed += 1
            else:
                if not isinstance(outcome, PaymentDeclined):
                    log.warning("license charge %s refused: %s", due.license.id, outcome.detail)
                changes.append((due.license, after_decline(due, self.retry_days), "failed"))
        return self._apply(changes, report)

    def _apply(self, changes: list[tuple[License, dict[str, Any], str]], report: RunReport) -> int:
        applied = 0
        with begin_write(self.engine) as conn:
            for lic, values, what in changes:
                done = conn.execute(
                    update(L)
                    .where(and_(L.c.id == lic.id, L.c.version == lic.version))
                    .values(**values, version=lic.version + 1)
                )
                if done.rowcount != 1:
                    continue  # another run applied it first: counted there
                applied += 1
                report.charged += what == "charged"
                report.failed += what == "failed"
        return applied
