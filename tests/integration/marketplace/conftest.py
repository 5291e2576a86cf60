"""The marketplace over a real ledger and billing (SQLite and PostgreSQL), a settable clock
and a media directory of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import Ledger
from monetization.billing import Billing
from monetization.marketplace import (
    Course,
    LocalBlobStore,
    Marketplace,
    MarketplaceConfig,
    build_marketplace,
    course_draft,
)
from tests.integration.billing.conftest import START, Clock, make_billing, subscribe

VISA, DECLINED, UNAVAILABLE = "pm_card_visa", "pm_card_chargeDeclined", "pm_card_unavailable"
__all__ = ["START", "Clock", "subscribe"]


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def book(engine: Engine, clock: Clock) -> Iterator[Ledger]:
    with Ledger(engine, clock=clock) as ledger:
        yield ledger


@pytest.fixture
def billing(engine: Engine, book: Ledger, clock: Clock) -> Iterator[Billing]:
    service = make_billing(engine, book, clock)
    yield service
    service.close()


def make_market(
    engine: Engine, book: Ledger, billing: Billing, clock: Clock, media: Path, **config: object
) -> Marketplace:
    return build_marketplace(
        engine=engine,
        ledger=book,
        plans=billing,
        payments=billing.payments,
        store=LocalBlobStore(media),
        config=MarketplaceConfig(**config),  # type: ignore[arg-type]
        clock=clock,
    )


@pytest.fixture
def market(
    engine: Engine, book: Ledger, billing: Billing, clock: Clock, tmp_path: Path
) -> Marketplace:
    return make_market(engine, book, billing, clock, tmp_path / "media")


def new_course(
    market: Marketplace,
    instructor: str = "teach",
    *,
    price: str = "49.99",
    title: str = "Python from zero",
    publish: bool = True,
    **fields: object,
) -> Course:
    values: dict[str, object] = {
        "title": title,
        "description": "",
        "category": "programming",
        "level": "beginner",
        "language": "en",
        "price": price,
        "tags": [],
        **fields,
    }
    course = market.courses.create(instructor, course_draft(**values))
    return market.courses.publish(course.id) if publish else course


def instructor_on(billing: Billing, user: str, plan: str) -> None:
    if plan != "free":
        subscribe(billing, user, plan, key=f"{user}-{plan}")


def buy(
    market: Marketplace, course: Course, buyer: str, key: str | None = None, method: str = VISA
) -> object:
    purchase, _ = market.purchases.buy(
        course.id, buyer, method, principal=f"user:{buyer}", key=key or f"buy-{buyer}-{course.id}"
    )
    return purchase
