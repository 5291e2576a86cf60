"""Plan requests (``POST /v1/users/{id}/subscription``), idempotent and crash-safe.

A request is recorded in ``billing_changes`` under (user, principal, Idempotency-Key)
before anything is charged, and the subscription row is *claimed* by it, so:

- the same key again answers the original result (another body with it: 409);
- a concurrent paid change of the same user waits its turn (409 ``subscription-busy``),
  and renewals skip a claimed subscription;
- a crash between the charge and the change is finished by the next request with that
  key, or by anyone once the claim is ``stale_change_s`` old: the provider key and the
  ledger key are derived from the request, so the retry finds the same charge and the
  same entry, never a second one;
- a refused charge (402, 503) deletes the record and the claim: nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger import LedgerError
from monetization.billing.config import BillingConfig
from monetization.billing.decisions import FreeChange, PaidChange, decide_plan_request
from monetization.billing.errors import BillingIdempotencyConflict, SubscriptionBusy
from monetization.billing.model import (
    KIND_CHARGE,
    KIND_PRORATION,
    REVENUE_ACCOUNT,
    Subscription,
    Transition,
    check_request_key,
    to_free,
)
from monetization.billing.plans import PlanCatalog
from monetization.billing.states import ChangeStatus, Event, Status
from monetization.billing.store import SubscriptionStore, begin_write
from monetization.billing.tables import billing_changes
from monetization.payments import PaymentRequest, Payments
from monetization.payments.port import check_payment_method

C = billing_changes


@dataclass(frozen=True, slots=True)
class ChangeResult:
    subscription: Subscription
    amount: int | None  # charged by this request (None: nothing charged)
    entry_id: str | None
    replayed: bool = False


def fingerprint(plan_id: str, payment_method: str) -> str:
    body = json.dumps({"plan": plan_id, "payment_method": payment_method}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def payment_key(user_id: str, principal: str, request_key: str, print_: str) -> str:
    """The provider's and the ledger's key of one request: the same on every retry."""
    digest = hashlib.sha256(f"{user_id}\n{principal}\n{request_key}\n{print_}".encode())
    return f"billing:change:{digest.hexdigest()[:48]}"


class PlanChanges:
    def __init__(
        self,
        store: SubscriptionStore,
        catalog: PlanCatalog,
        payments: Payments,
        config: BillingConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.payments = payments
        self.config = config
        self.clock = clock

    def request(
        self, user_id: str, plan_id: str, payment_method: str, *, principal: str, key: str
    ) -> ChangeResult:
        check_payment_method(payment_method)
        check_request_key(key)
        target = self.catalog.plan(plan_id)
        print_ = fingerprint(target.id, payment_method)
        found = self._find(user_id, principal, key)
        if found is not None:
            if found.fingerprint != print_:
                raise BillingIdempotencyConflict(
                    "this Idempotency-Key was used for another subscription request"
                )
            return self._resume(found)
        sub = self._claimable(user_id)
        now = self.clock()
        decision = decide_plan_request(
            sub, self.catalog.plan(sub.plan_id), target, payment_method, now
        )
        change_id = str(uuid.uuid4())
        row = _change_row(
            change_id, sub=sub, decision=decision, principal=principal, key=key,
            print_=print_, payment_method=payment_method, now=now,
        )  # fmt: skip
        try:
            with begin_write(self.store.engine) as conn:
                conn.execute(insert(C).values(**row))
        except IntegrityError:
            raise SubscriptionBusy("the same request is in progress: retry shortly") from None
        if not self.store.claim(sub, change_id):
            self._forget(change_id)
            raise SubscriptionBusy("another change of this subscription is in progress")
        return self._finish(self._load(change_id))

    # --- the saga --------------------------------------------------------------------

    def _claimable(self, user_id: str) -> Subscription:
        sub = self.store.ensure_row(user_id)
        if sub.change_id is None:
            return sub
        other = self._load(sub.change_id)
        if other is not None and self.clock() - other.updated_at < timedelta(
            seconds=self.config.stale_change_s
        ):
            raise SubscriptionBusy("another change of this subscription is in progress")
        if other is not None:
            self._resume(other)
        else:
            self.store.release(user_id, sub.change_id)
        return self.store.get(user_id)

    def _resume(self, change: Any) -> ChangeResult:
        if change.status == ChangeStatus.APPLIED.value:
            return ChangeResult(
                self.store.get(change.user_id),
                change.amount_cents if change.entry_id else None,
                change.entry_id,
                replayed=True,
            )
        return self._finish(change)

    def _finish(self, change: Any) -> ChangeResult:
        before = self.store.get(change.user_id)
        if before.change_id != change.id or before.version != change.base_version:
            # Claim lost (a stale claim finished by someone else): nothing was applied here.
            self._forget(change.id)
            raise SubscriptionBusy("the subscription changed meanwhile: send the request again")
        entry_id = None
        if change.amount_cents > 0 and change.status == ChangeStatus.PENDING.value:
            entry_id = self._charge(change)
        elif change.amount_cents > 0:
            entry_id = change.entry_id
        event = Event(change.event)
        after = _after(before, change)
        transition = Transition(event, before, after, change.created_at, change.amount_cents,
                                entry_id)  # fmt: skip
        with begin_write(self.store.engine) as conn:
            applied = self.store.apply([transition], conn)
            assert applied, "a claimed subscription changes only through its claim"
            _set_status(conn, change.id, ChangeStatus.APPLIED, self.clock(), entry_id=entry_id)
        charged = change.amount_cents if entry_id else None
        return ChangeResult(self.store.get(change.user_id), charged, entry_id)

    def _charge(self, change: Any) -> str:
        key = payment_key(change.user_id, change.principal, change.request_key,
                          change.fingerprint)  # fmt: skip
        event = Event(change.event)
        request = PaymentRequest(
            customer=change.user_id,
            amount=int(change.amount_cents),
            payment_method=change.payment_method,
            key=key,
            kind=KIND_CHARGE if event is Event.SUBSCRIBE else KIND_PRORATION,
            purpose="subscription",
            destinations=((REVENUE_ACCOUNT, int(change.amount_cents)),),
            metadata={
                "user_id": change.user_id,
                "plan": change.plan_id,
                "event": event.value,
                "period_start": change.period_start.isoformat(),
                "period_end": change.period_end.isoformat(),
            },
            effective_at=change.created_at,
            description=f"Azora {change.plan_id} ({event.value})",
        )
        self.payments.open_accounts([REVENUE_ACCOUNT])
        try:
            captured = self.payments.collect(request)
        except LedgerError:
            self._forget(change.id, release_user=change.user_id)
            raise
        with begin_write(self.store.engine) as conn:
            _set_status(conn, change.id, ChangeStatus.CHARGED, self.clock(),
                        entry_id=captured.entry.id, charge_id=captured.charge.id)  # fmt: skip
        return captured.entry.id

    # --- rows ------------------------------------------------------------------------

    def _find(self, user_id: str, principal: str, key: str) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(C).where(
                    and_(C.c.user_id == user_id, C.c.principal == principal,
                         C.c.request_key == key)
                )
            ).first()  # fmt: skip

    def _load(self, change_id: str) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(select(C).where(C.c.id == change_id)).first()

    def _forget(self, change_id: str, release_user: str | None = None) -> None:
        with begin_write(self.store.engine) as conn:
            conn.execute(delete(C).where(C.c.id == change_id))
            if release_user is not None:
                self.store.release(release_user, change_id, conn)

    def recover_stale(self, limit: int = 100) -> int:
        """Finish paid changes a crash left behind (the maintenance loop calls this)."""
        cutoff = self.clock() - timedelta(seconds=self.config.stale_change_s)
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(C)
                .where(and_(C.c.status != ChangeStatus.APPLIED.value, C.c.updated_at < cutoff))
                .limit(limit)
            ).all()
        finished = 0
        for row in rows:
            try:
                self._finish(row)
                finished += 1
            except LedgerError:
                continue  # refused or busy: the record is gone or someone else finishes it
        return finished


def _change_row(
    change_id: str,
    *,
    sub: Subscription,
    decision: PaidChange | FreeChange,
    principal: str,
    key: str,
    print_: str,
    payment_method: str,
    now: datetime,
) -> dict[str, Any]:
    after = decision.after
    paid = isinstance(decision, PaidChange)
    event = decision.event
    if event is None:
        raise AssertionError("a plan request always names its event")
    return {
        "id": change_id,
        "user_id": sub.user_id,
        "principal": principal,
        "request_key": key,
        "fingerprint": print_,
        "event": event.value,
        "plan_id": (after.scheduled_plan or after.plan_id) if not paid else after.plan_id,
        "payment_method": payment_method,
        "amount_cents": decision.amount if isinstance(decision, PaidChange) else 0,
        "period_start": decision.period_start if isinstance(decision, PaidChange) else now,
        "period_end": decision.period_end if isinstance(decision, PaidChange) else now,
        "anchor_day": after.anchor_day or now.day,
        "base_version": sub.version,
        "status": ChangeStatus.PENDING.value,
        "created_at": now,
        "updated_at": now,
    }


def _after(before: Subscription, change: Any) -> Subscription:
    """The subscription once ``change`` applies, rebuilt from its record (so a recovery
    applies exactly what was decided and charged)."""
    event = Event(change.event)
    if event is Event.SUBSCRIBE:
        return replace(
            to_free(before, Status.ACTIVE),
            plan_id=change.plan_id,
            current_period_start=change.period_start,
            current_period_end=change.period_end,
            anchor_day=change.anchor_day,
            payment_method=change.payment_method,
            due_at=change.period_end,
        )
    if event is Event.UPGRADE:
        return replace(before, plan_id=change.plan_id, payment_method=change.payment_method,
                       scheduled_plan=None, cancel_at_period_end=False)  # fmt: skip
    if event is Event.SCHEDULE_DOWNGRADE:
        return replace(before, scheduled_plan=change.plan_id, cancel_at_period_end=False)
    assert event is Event.END_NOW, event
    return to_free(before, Status.CANCELED)


def _set_status(
    conn: Connection, change_id: str, status: ChangeStatus, now: datetime, **ids: str | None
) -> None:
    values = {k: v for k, v in ids.items() if v is not None}
    conn.execute(
        update(C).where(C.c.id == change_id).values(status=status.value, updated_at=now, **values)
    )
