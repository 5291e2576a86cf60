"""Licensing over real databases (SQLite and PostgreSQL) with a clock the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ledger import Ledger
from monetization.billing import Billing, BillingConfig, build_billing
from monetization.licensing import (
    LicenseRequest,
    Licensing,
    LicensingConfig,
    Limits,
    StaticTxtResolver,
    Tier,
    build_licensing,
)
from monetization.payments import LocalProvider
from tests.integration.billing.conftest import Clock

START = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC
SECRET = "license-signing-secret-" + "x" * 20
SSO_SECRET = "sso-sealing-secret-" + "y" * 20


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def resolver() -> StaticTxtResolver:
    return StaticTxtResolver()


def make_licensing(
    engine: Engine, clock: Clock, resolver: StaticTxtResolver | None = None,
    secret: str = SECRET,
) -> Licensing:  # fmt: skip
    txt = resolver or StaticTxtResolver()
    return build_licensing(
        engine, clock, signing_secret=lambda: secret, sso_secrets=lambda: [SSO_SECRET],
        resolver=lambda: txt, config=LicensingConfig(charge_retry_days=(1, 3)),
    )  # fmt: skip


@pytest.fixture
def licensing(engine: Engine, clock: Clock, resolver: StaticTxtResolver) -> Licensing:
    return make_licensing(engine, clock, resolver)


@pytest.fixture
def book(engine: Engine, clock: Clock) -> Iterator[Ledger]:
    with Ledger(engine, clock=clock) as ledger:
        yield ledger


@pytest.fixture
def billing(engine: Engine, book: Ledger, clock: Clock, licensing: Licensing) -> Iterator[Billing]:
    service = build_billing(engine, book, BillingConfig(), LocalProvider(), clock)
    service.add_charges(licensing.charges(service.payments))
    yield service
    service.close()


def terms(
    tier: Tier = Tier.ENTERPRISE, seats: int = 5, limits: Limits | None = None,
    days: int = 365, price: int | None = None, method: str | None = "pm_card_visa",
) -> LicenseRequest:  # fmt: skip
    return LicenseRequest(tier, seats, limits or Limits(), START + timedelta(days=days), price,
                          method)  # fmt: skip


def org_with_license(licensing: Licensing, org_id: str = "acme", **kwargs: object) -> str:
    """An organization owned by ``olga`` with a license (``kwargs``: :func:`terms`)."""
    licensing.orgs.create(org_id, org_id.title(), "olga")
    made, _ = licensing.licenses.issue(org_id, terms(**kwargs), principal="key:test")  # type: ignore[arg-type]
    return made.id
