"""Monthly license charges through the billing run, on both back ends: one per license
per month even run twice or concurrently, declines retried then unpaid, an outage changes
nothing, revoked and expired licenses charged no more, and no personal data in the ledger."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from ledger import Ledger
from monetization.billing import Billing
from monetization.licensing import KIND_CHARGE, REVENUE_ACCOUNT, BillingStatus, Licensing, Tier
from monetization.licensing.tables import licensing_licenses
from tests.integration.billing.conftest import Clock
from tests.integration.licensing.conftest import START, org_with_license, terms

pytestmark = pytest.mark.integration


def revenue(book: Ledger) -> int:
    return book.balance(REVENUE_ACCOUNT).balance


def charges(book: Ledger) -> list[dict[str, object]]:
    events = book.events(0, 1000, kinds=[KIND_CHARGE])
    return [dict(e.metadata) for e in events]


def set_method(engine: Engine, method: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(licensing_licenses).values(payment_method=method))


def test_each_month_is_charged_once(
    licensing: Licensing, billing: Billing, book: Ledger, clock: Clock
) -> None:
    lid = org_with_license(licensing, price=50_000, days=75)
    assert billing.run().charged == 1
    assert billing.run().charged == 0  # run twice: still one
    assert revenue(book) == 50_000
    clock.advance(days=31)
    assert billing.run().line() == "billing: 1 charged, 0 failed, 0 downgraded"
    clock.advance(days=100)  # the third month started before expiry; none after
    assert billing.run().charged == 1 and billing.run().charged == 0
    assert revenue(book) == 3 * 50_000
    made = licensing.licenses.get(lid)
    assert (made.periods_charged, made.billing_status) == (3, BillingStatus.ENDED)
    metadata = charges(book)
    assert [m["license_id"] for m in metadata] == [lid] * 3
    assert {m["org_id"] for m in metadata} == {"acme"}
    # Only pseudonymous ids: no names, e-mail addresses or texts in the journal.
    assert all(set(m) <= {"license_id", "org_id", "tier", "period_start", "charge_id",
                           "provider"} for m in metadata)  # fmt: skip


def test_a_late_run_catches_up_and_free_licenses_are_never_charged(
    licensing: Licensing, billing: Billing, book: Ledger, clock: Clock
) -> None:
    org_with_license(licensing, tier=Tier.PROFESSIONAL, days=400)
    licensing.orgs.create("pilot", "Pilot", "pia")
    licensing.licenses.issue("pilot", terms(tier=Tier.CUSTOM, price=0, method=None),
                             principal="key:t")  # fmt: skip
    report = billing.run(START + timedelta(days=95))  # four months started
    assert report.charged == 4 and revenue(book) == 4 * 9_900


def test_declines_retry_then_stop_unpaid(
    licensing: Licensing, billing: Billing, book: Ledger, clock: Clock, engine: Engine
) -> None:
    lid = org_with_license(licensing)
    set_method(engine, "pm_card_chargeDeclined")
    assert billing.run().failed == 1
    lic = licensing.licenses.get(lid)
    assert (lic.billing_status, lic.retry_at) == (BillingStatus.PAST_DUE, START + timedelta(days=1))
    assert billing.run().failed == 0  # not before the retry day
    clock.advance(days=1, minutes=1)
    assert billing.run().failed == 1  # retry 1 (of the days 1 and 3)
    clock.advance(days=2)
    assert billing.run().failed == 1
    lic = licensing.licenses.get(lid)
    assert (lic.billing_status, lic.failed_attempts) == (BillingStatus.UNPAID, 3)
    clock.advance(days=30)
    assert billing.run().failed == 0 and revenue(book) == 0
    assert licensing.licenses.validate(lic.key).valid  # a contract matter, not revoked


def test_a_retry_that_succeeds_is_current_again(
    licensing: Licensing, billing: Billing, book: Ledger, clock: Clock, engine: Engine
) -> None:
    lid = org_with_license(licensing)
    set_method(engine, "pm_card_chargeDeclined")
    billing.run()
    set_method(engine, "pm_card_visa")
    clock.advance(days=1, minutes=1)
    assert billing.run().charged == 1
    lic = licensing.licenses.get(lid)
    assert (lic.billing_status, lic.failed_attempts, lic.periods_charged) == (
        BillingStatus.CURRENT, 0, 1)  # fmt: skip
    assert lic.next_charge_at == START.replace(month=2)  # the month follows the issue date


def test_an_outage_changes_nothing(
    licensing: Licensing, billing: Billing, book: Ledger, engine: Engine
) -> None:
    lid = org_with_license(licensing)
    before = licensing.licenses.get(lid)
    set_method(engine, "pm_card_unavailable")
    assert billing.run().failed == 1
    after = licensing.licenses.get(lid)
    assert (after.version, after.billing_status) == (before.version, before.billing_status)
    set_method(engine, "pm_card_visa")
    assert billing.run().charged == 1 and revenue(book) == 29_900


def test_revoked_licenses_are_charged_no_more(
    licensing: Licensing, billing: Billing, book: Ledger, clock: Clock
) -> None:
    lid = org_with_license(licensing)
    billing.run()
    licensing.licenses.revoke(lid)
    clock.advance(days=40)
    assert billing.run().charged == 0 and revenue(book) == 29_900


def test_concurrent_runs_charge_once(
    licensing: Licensing, billing: Billing, book: Ledger, clock: Clock
) -> None:
    for n in range(8):
        org_with_license(licensing, org_id=f"org{n}")
    clock.advance(days=65)  # three months each
    reports = []

    def run() -> None:
        reports.append(billing.run())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.charged for r in reports) == 24
    assert revenue(book) == 24 * 29_900
    assert len(charges(book)) == 24
