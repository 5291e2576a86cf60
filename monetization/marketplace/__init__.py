"""The course marketplace (DESIGN §12): courses and their materials, search, purchases with
the revenue split by the instructor's plan at the time of sale, refunds and the release of
matured shares, earnings and payouts, reviews.

Build it with :func:`build_marketplace` (the composition root's one call); the HTTP layer
reaches the parts through :class:`Marketplace`. Money moves only through the ledger and the
payments service; the domain's own state lives in the ``market_*`` tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from ledger import Ledger
from monetization.marketplace.accounts import AccountOpener
from monetization.marketplace.config import MarketplaceConfig
from monetization.marketplace.courses import Courses, InstructorPlans
from monetization.marketplace.earnings import Earnings, EarningsReport, Tally
from monetization.marketplace.errors import (
    AlreadyPurchased,
    AlreadyReviewed,
    CourseNotFound,
    InvalidCourse,
    NotABuyer,
    PlanRequired,
    RefundWindowClosed,
)
from monetization.marketplace.materials import Materials, MaterialUpload
from monetization.marketplace.model import (
    Course,
    CourseDraft,
    CourseStatus,
    Level,
    Material,
    Payout,
    PayoutStatus,
    Purchase,
    PurchaseStatus,
    Review,
)
from monetization.marketplace.payouts import Payouts
from monetization.marketplace.purchases import Purchases
from monetization.marketplace.refunds import Refunds
from monetization.marketplace.release import Releases
from monetization.marketplace.reviews import Reviews
from monetization.marketplace.search import CoursePage, CourseSearch, SearchQuery, Sort
from monetization.marketplace.split import Split, split_price
from monetization.marketplace.storage import BlobStore, LocalBlobStore
from monetization.marketplace.text import course_draft
from monetization.payments import Payments


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    released: int
    recovered: int

    def line(self) -> str:
        return f"marketplace: {self.released} released, {self.recovered} recovered"


class Marketplace:
    """The marketplace's services, built once per process by :func:`build_marketplace`."""

    def __init__(
        self,
        *,
        courses: Courses,
        search: CourseSearch,
        materials: Materials,
        purchases: Purchases,
        refunds: Refunds,
        releases: Releases,
        payouts: Payouts,
        earnings: EarningsReport,
        reviews: Reviews,
    ) -> None:
        self.courses = courses
        self.search = search
        self.materials = materials
        self.purchases = purchases
        self.refunds = refunds
        self.releases = releases
        self.payouts = payouts
        self.earnings = earnings
        self.reviews = reviews

    def maintain(self, now: datetime | None = None) -> MaintenanceReport:
        """One round (the maintenance loop, ``azora marketplace release``): finish what a
        crash left half-done, then release every share whose refund window closed."""
        recovered = self.purchases.recover_stale() + self.refunds.recover_stale()
        return MaintenanceReport(self.releases.release_due(now), recovered)


def build_marketplace(
    *,
    engine: Engine,
    ledger: Ledger,
    plans: InstructorPlans,
    payments: Payments,
    store: BlobStore,
    config: MarketplaceConfig,
    clock: Callable[[], datetime],
) -> Marketplace:
    """Everything the marketplace needs, from what the composition root owns: ``plans`` is
    the subscriptions domain (:class:`monetization.billing.Billing`), ``payments`` its
    payments service, ``store`` where materials go."""
    opener = AccountOpener(ledger)
    courses = Courses(engine, plans, clock)
    purchases = Purchases(
        engine=engine,
        courses=courses,
        plans=plans,
        payments=payments,
        opener=opener,
        config=config,
        clock=clock,
    )
    releases = Releases(engine=engine, ledger=ledger, opener=opener, config=config, clock=clock)
    payouts = Payouts(engine=engine, ledger=ledger, releases=releases, opener=opener, clock=clock)
    return Marketplace(
        courses=courses,
        search=CourseSearch(engine),
        materials=Materials(engine, store, config, clock),
        purchases=purchases,
        refunds=Refunds(
            engine=engine,
            ledger=ledger,
            purchases=purchases,
            courses=courses,
            payments=payments,
            opener=opener,
            config=config,
            clock=clock,
        ),
        releases=releases,
        payouts=payouts,
        earnings=EarningsReport(engine, ledger, payouts, releases),
        reviews=Reviews(engine, purchases, clock),
    )


__all__ = [
    "AlreadyPurchased",
    "AlreadyReviewed",
    "BlobStore",
    "Course",
    "CourseDraft",
    "CourseNotFound",
    "CoursePage",
    "CourseSearch",
    "CourseStatus",
    "Earnings",
    "InvalidCourse",
    "Level",
    "LocalBlobStore",
    "MaintenanceReport",
    "Marketplace",
    "MarketplaceConfig",
    "Material",
    "MaterialUpload",
    "NotABuyer",
    "Payout",
    "PayoutStatus",
    "PlanRequired",
    "Purchase",
    "PurchaseStatus",
    "RefundWindowClosed",
    "Review",
    "SearchQuery",
    "Sort",
    "Split",
    "Tally",
    "build_marketplace",
    "course_draft",
    "split_price",
]
