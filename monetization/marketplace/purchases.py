"""Purchases: one ledger entry splits the price by the instructor's plan at the time of sale.

The order of a purchase, each step safe to repeat:

1. the request is recorded ``pending`` under (principal, Idempotency-Key): a unique index
   lets one purchase per buyer and course hold its place (two requests at once: one wins,
   the other is 409 ``already-purchased``), and the split is decided and kept in the row;
2. the card is charged and the sale posted (``marketplace.sale``: ``world:card`` to
   ``instructor:{id}:pending`` and ``platform:revenue:marketplace``) through the payments
   service, whose provider key and ledger key both derive from the purchase's id;
3. the row becomes ``completed`` with its entry, and the course's purchase count moves, in
   one transaction.

A refused charge (402, 503) deletes the row: nothing happened and the key is free again. A
crash between 2 and 3 is finished by :meth:`Purchases.recover_stale` (the maintenance
round) with the same keys: the provider answers the same charge, the ledger the same entry.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger import LedgerError
from monetization.ids import UUID_RE
from monetization.marketplace import accounts
from monetization.marketplace.config import MarketplaceConfig
from monetization.marketplace.courses import Courses, InstructorPlans, check_course_id
from monetization.marketplace.errors import (
    AlreadyPurchased,
    CourseNotFound,
    InvalidCourse,
    MarketIdempotencyConflict,
    OwnCourse,
    PurchaseInProgress,
)
from monetization.marketplace.model import (
    GRANTS_ACCESS,
    HOLDS_SLOT,
    Course,
    CourseStatus,
    Purchase,
    PurchaseStatus,
)
from monetization.marketplace.split import split_price
from monetization.marketplace.store import begin_write, purchase_from_row
from monetization.marketplace.tables import market_purchases
from monetization.payments import PaymentRequest, Payments
from monetization.payments.port import check_payment_method

Pu = market_purchases
POLL_S = 0.05
LIBRARY_MAX = 500


def check_purchase_id(purchase_id: object) -> str:
    if not isinstance(purchase_id, str) or not UUID_RE.fullmatch(purchase_id):
        raise CourseNotFound("no such purchase")
    return purchase_id


def fingerprint(course_id: str, buyer_id: str, payment_method: str | None) -> str:
    body = {"course_id": course_id, "buyer_id": buyer_id, "payment_method": payment_method}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Purchases:
    def __init__(
        self,
        *,
        engine: Engine,
        courses: Courses,
        plans: InstructorPlans,
        payments: Payments,
        opener: accounts.AccountOpener,
        config: MarketplaceConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.courses = courses
        self.plans = plans
        self.payments = payments
        self.opener = opener
        self.config = config
        self.clock = clock

    # --- buying ------------------------------------------------------------------------

    def buy(
        self,
        course_id: str,
        buyer_id: str,
        payment_method: str | None,
        *,
        principal: str,
        key: str,
    ) -> tuple[Purchase, bool]:
        """The purchase and whether it is a replay of an earlier request with ``key``."""
        check_course_id(course_id)
        print_ = fingerprint(course_id, buyer_id, payment_method)
        # One transaction reads the key and the course and records the purchase; the unique
        # indexes decide: the same key again is a replay, another purchase of the course
        # holding its place (market_purchases_one_active) is already-purchased.
        row: dict[str, Any] | None = None
        try:
            with begin_write(self.engine) as conn:
                found = _by_key(conn, principal, key)
                if found is None:
                    course = self.courses.by_ids(conn, [course_id]).get(course_id)
                    if course is None:
                        raise CourseNotFound(f"course {course_id} does not exist")
                    row = self._record(conn, course, buyer_id, payment_method, print_, key=key,
                                       principal=principal)  # fmt: skip
        except IntegrityError:
            again = self._by_key(principal, key)
            if again is not None:
                return self._replay(again, print_), True
            raise AlreadyPurchased(f"{buyer_id} already bought course {course_id}") from None
        if row is None:
            return self._replay(found, print_), True
        if row["price_cents"] == 0:
            return self.get(row["id"]), False
        return self._collect(SimpleNamespace(**row)), False

    def _record(
        self,
        conn: Connection,
        course: Course,
        buyer_id: str,
        payment_method: str | None,
        print_: str,
        *,
        key: str,
        principal: str,
    ) -> dict[str, Any]:
        """Check the sale and write the purchase row (pending; completed when free)."""
        if course.status is not CourseStatus.PUBLISHED:
            raise CourseNotFound(f"course {course.id} is not for sale")
        if course.instructor_id == buyer_id:
            raise OwnCourse("instructors have access to their own courses")
        if course.price > 0:
            check_payment_method(payment_method)
        row = self._new_row(
            course,
            buyer_id=buyer_id,
            payment_method=payment_method,
            principal=principal,
            key=key,
            print_=print_,
        )
        conn.execute(insert(Pu).values(**row))
        if course.price == 0:  # free: access at once, no entry
            self.courses.set_counts(conn, course.id, purchases=1)
        return row

    def _new_row(
        self,
        course: Course,
        *,
        buyer_id: str,
        payment_method: str | None,
        principal: str,
        key: str,
        print_: str,
    ) -> dict[str, Any]:
        plan = self.plans.plan_of(course.instructor_id).id if course.price > 0 else "n/a"
        split = split_price(course.price, plan)
        now = self.clock()
        free = course.price == 0
        return {
            "id": str(uuid.uuid4()),
            "course_id": course.id,
            "buyer_id": buyer_id,
            "instructor_id": course.instructor_id,
            "price_cents": course.price,
            "instructor_share_cents": split.instructor_share,
            "platform_share_cents": split.platform_share,
            "instructor_plan": plan,
            "instructor_pct": split.instructor_pct,
            "status": (PurchaseStatus.COMPLETED if free else PurchaseStatus.PENDING).value,
            "payment_method": payment_method or "",
            "principal": principal,
            "request_key": key,
            "fingerprint": print_,
            "after_window": False,
            "created_at": now,
            "updated_at": now,
            "refundable_until": now + timedelta(days=self.config.refund_window_days),
        }

    def _capture(self, purchase_id: str) -> Purchase:
        """Charge and post the sale of a pending purchase (again, after a crash: the same
        keys find the same charge and the same entry)."""
        row = self._row(purchase_id)
        if row is None or row.status != PurchaseStatus.PENDING.value:
            return self.get(purchase_id)
        return self._collect(row)

    def _collect(self, row: Any) -> Purchase:
        """Charge the pending purchase ``row`` (its columns as attributes), post the sale,
        and complete the row, the course's purchase count and the payment attempt's log in
        one transaction."""
        self.opener.open(accounts.WORLD_CARD, accounts.REVENUE)
        self.opener.instructor(row.instructor_id)
        request = _payment(row)
        try:
            captured = self.payments.collect(request, log_capture_later=True)
        except LedgerError:
            with begin_write(self.engine) as conn:
                conn.execute(delete(Pu).where(Pu.c.id == row.id, Pu.c.status == "pending"))
            raise
        with begin_write(self.engine) as conn:
            done = conn.execute(
                update(Pu)
                .where(Pu.c.id == row.id, Pu.c.status == PurchaseStatus.PENDING.value)
                .values(
                    status=PurchaseStatus.COMPLETED.value,
                    entry_id=captured.entry.id,
                    charge_id=captured.charge.id,
                    updated_at=self.clock(),
                )
                .returning(*Pu.c)
            ).first()
            # Logged with the completion (a crash before it: the recovery collects again,
            # the same charge and entry, and logs then).
            self.payments.log_captures(conn, [(request, captured)])
            if done is not None:  # last: the course's row is the one buyers share
                self.courses.set_counts(conn, row.course_id, purchases=1)
        # None: another request (or the recovery) completed it meanwhile.
        return purchase_from_row(done) if done is not None else self.get(row.id)

    def _replay(self, row: Any, print_: str) -> Purchase:
        if row.fingerprint != print_:
            raise MarketIdempotencyConflict(
                "this Idempotency-Key was used for another purchase request"
            )
        deadline = time.monotonic() + self.config.in_progress_wait_s
        while row is not None and row.status == PurchaseStatus.PENDING.value:
            if self.clock() - row.updated_at > timedelta(seconds=self.config.stale_after_s):
                return self._capture(row.id)
            if time.monotonic() >= deadline:
                raise PurchaseInProgress("the purchase is being processed: retry shortly")
            time.sleep(POLL_S)
            row = self._row(row.id)
        if row is None:  # the first request was refused meanwhile: its key is free again
            raise PurchaseInProgress("the purchase was refused meanwhile: send it again")
        return purchase_from_row(row)

    def recover_stale(self, limit: int = 100) -> int:
        """Finish purchases a crash left pending (the maintenance round calls this)."""
        cutoff = self.clock() - timedelta(seconds=self.config.stale_after_s)
        with self.engine.connect() as conn:
            ids = (
                conn.execute(
                    select(Pu.c.id)
                    .where(Pu.c.status == PurchaseStatus.PENDING.value, Pu.c.updated_at < cutoff)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        finished = 0
        for purchase_id in ids:
            try:
                self._capture(purchase_id)
                finished += 1
            except LedgerError:
                continue  # refused now: the row is gone
        return finished

    # --- reading -------------------------------------------------------------------------

    def get(self, purchase_id: str) -> Purchase:
        row = self._row(check_purchase_id(purchase_id))
        if row is None:
            raise CourseNotFound(f"purchase {purchase_id} does not exist")
        return purchase_from_row(row)

    def active(self, course_id: str, buyer_id: str) -> Purchase | None:
        """The buyer's purchase of the course that holds its place (not refunded), if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Pu).where(
                    Pu.c.course_id == course_id,
                    Pu.c.buyer_id == buyer_id,
                    Pu.c.status.in_([s.value for s in HOLDS_SLOT]),
                )
            ).first()
        return None if row is None else purchase_from_row(row)

    def has_access(self, user_id: str, course: Course) -> bool:
        """The owner, and buyers whose purchase is paid and not refunded."""
        if course.instructor_id == user_id:
            return True
        found = self.active(course.id, user_id)
        return found is not None and found.status in GRANTS_ACCESS

    def library(
        self, buyer_id: str, *, limit: int, before: str | None = None
    ) -> list[tuple[Purchase, Course]]:
        """The courses a buyer has access to, the latest purchase first."""
        if not 1 <= limit <= LIBRARY_MAX:
            raise InvalidCourse(f"limit must be within 1..{LIBRARY_MAX}")
        stmt = select(Pu).where(
            Pu.c.buyer_id == buyer_id, Pu.c.status.in_([s.value for s in GRANTS_ACCESS])
        )
        with self.engine.connect() as conn:
            if before is not None:
                anchor = conn.execute(
                    select(Pu.c.created_at, Pu.c.id).where(
                        Pu.c.id == check_purchase_id(before), Pu.c.buyer_id == buyer_id
                    )
                ).first()
                if anchor is None:
                    raise CourseNotFound("the cursor names no purchase of this user")
                stmt = stmt.where(
                    or_(
                        Pu.c.created_at < anchor.created_at,
                        and_(Pu.c.created_at == anchor.created_at, Pu.c.id < anchor.id),
                    )
                )
            rows = conn.execute(
                stmt.order_by(Pu.c.created_at.desc(), Pu.c.id.desc()).limit(limit)
            ).all()
            courses = self.courses.by_ids(conn, [r.course_id for r in rows])
        return [(purchase_from_row(r), courses[r.course_id]) for r in rows]

    def _row(self, purchase_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(Pu).where(Pu.c.id == purchase_id)).first()

    def _by_key(self, principal: str, key: str) -> Any:
        with self.engine.connect() as conn:
            return _by_key(conn, principal, key)


def _by_key(conn: Connection, principal: str, key: str) -> Any:
    return conn.execute(
        select(Pu).where(Pu.c.principal == principal, Pu.c.request_key == key)
    ).first()


def _payment(row: Any) -> PaymentRequest:
    """The charge of a purchase, rebuilt from its row (so a retry asks exactly the same)."""
    share, platform = int(row.instructor_share_cents), int(row.platform_share_cents)
    legs = ((accounts.pending(row.instructor_id), share), (accounts.REVENUE, platform))
    return PaymentRequest(
        customer=row.buyer_id,
        amount=int(row.price_cents),
        payment_method=row.payment_method,
        key=f"market:purchase:{row.id}",
        kind=accounts.KIND_SALE,
        purpose="marketplace",
        destinations=tuple((account, cents) for account, cents in legs if cents > 0),
        metadata={
            "purchase_id": row.id,
            "course_id": row.course_id,
            "buyer_id": row.buyer_id,
            "instructor_id": row.instructor_id,
            "instructor_plan": row.instructor_plan,
            "split": f"{row.instructor_pct}/{100 - int(row.instructor_pct)}",
            "price": str(row.price_cents),
            "instructor_share": str(share),
            "platform_share": str(platform),
        },
        effective_at=row.created_at,
        description=f"Azora course {row.course_id}",
    )
