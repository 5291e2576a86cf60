"""Payments: charge through the provider, record every capture in the ledger.

A captured payment is one ledger entry from ``world:card`` (USD, may go negative: money
arriving from card networks) to the accounts of its purpose; a refund moves the same
amounts back. One key per payment serves the provider and the ledger alike, so a retry
(or a second billing run) finds the same charge and the same entry: never a second one.
A refused charge writes no entry; its attempt is logged for the payment success rate.
Each attempt's outcome (``succeeded``, ``declined``, ``unavailable``: the provider did not
answer and the same charge is tried again later) is also reported, by purpose, to a
:class:`PaymentMetrics` when one is given (the composition root's counters).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from ledger import (
    USD,
    Account,
    Entry,
    InvalidRequest,
    Ledger,
    LedgerError,
    NewEntry,
    Posted,
    Posting,
    format_amount,
)
from monetization.payments.attempts import Attempt, AttemptLog, AttemptStatus
from monetization.payments.errors import (
    PaymentDeclined,
    PaymentError,
    PaymentProviderUnavailable,
)
from monetization.payments.port import Charge, PaymentProvider, check_payment_method

log = logging.getLogger(__name__)

WORLD_CARD = "world:card"
CURRENCY = USD.code


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """One payment: ``amount`` cents from ``customer``'s card to ``destinations``.

    ``key`` is the provider's idempotency key and the ledger's (principal ``payments``);
    ``destinations`` are ``(account, cents)`` that add up to ``amount``.
    """

    customer: str
    amount: int
    payment_method: str
    key: str
    kind: str
    purpose: str
    destinations: tuple[tuple[str, int], ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    effective_at: datetime | None = None
    description: str = ""
    # The ledger's key when it differs from the provider's: a renewal retried with a new
    # provider key per attempt keeps one ledger key per period (one entry, ever).
    ledger_key: str | None = None

    def entry(self, charge: Charge, provider: str) -> NewEntry:
        assert sum(cents for _, cents in self.destinations) == self.amount, self
        return NewEntry(
            self.kind,
            tuple(Posting(WORLD_CARD, account, CURRENCY, c) for account, c in self.destinations),
            metadata={**self.metadata, "charge_id": charge.id, "provider": provider},
            effective_at=self.effective_at,
        )


@dataclass(frozen=True, slots=True)
class Captured:
    charge: Charge
    entry: Entry
    replayed: bool


Outcome = Captured | LedgerError
LEDGER_PRINCIPAL = "payments"


class PaymentMetrics(Protocol):
    def charge_attempted(self, purpose: str, outcome: str) -> None: ...


class Payments:
    def __init__(
        self,
        ledger: Ledger,
        provider: PaymentProvider,
        attempts: AttemptLog,
        clock: Callable[[], datetime],
        metrics: PaymentMetrics | None = None,
    ) -> None:
        self.ledger = ledger
        self.metrics = metrics
        self.provider = provider
        self.attempts = attempts
        self.clock = clock
        self._opened: set[str] = set()

    def open_accounts(self, accounts: Sequence[str]) -> None:
        """``world:card`` and the given destination accounts (USD), once per process."""
        for account_id, negative in ((WORLD_CARD, True), *((a, False) for a in accounts)):
            if account_id not in self._opened:
                self.ledger.create_account(Account(account_id, CURRENCY, allow_negative=negative))
                self._opened.add(account_id)

    def collect(self, request: PaymentRequest, *, log_capture_later: bool = False) -> Captured:
        """Charge and record; raises :class:`PaymentError` (nothing recorded) or LedgerError.

        ``log_capture_later``: the capture's attempt is not logged here; the caller logs it
        with :meth:`log_captures` in a transaction of its own that it commits anyway (one
        commit less). Refusals are logged at once either way."""
        (outcome,) = self.collect_many([request], log_captures_later=log_capture_later)
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def log_captures(
        self, conn: Connection, captures: Sequence[tuple[PaymentRequest, Captured]]
    ) -> None:
        """Log, in the caller's transaction ``conn``, the attempts of captures collected
        with ``log_capture_later``."""
        requests = [r for r, _ in captures]
        results = [c for _, c in captures]
        self._log(requests, [c.charge for c in results], results, conn=conn)

    def collect_many(
        self, requests: Sequence[PaymentRequest], *, log_captures_later: bool = False
    ) -> list[Outcome]:
        """Each request charged, then every capture recorded with one batch of ledger posts."""
        charges: list[Charge | LedgerError] = [self._charge(r) for r in requests]
        captured = [
            (i, r, c) for i, (r, c) in enumerate(zip(requests, charges, strict=True))
            if isinstance(c, Charge)
        ]  # fmt: skip
        posted = self.ledger.post_entries(
            [(r.entry(c, self.provider.name), r.ledger_key or r.key) for _, r, c in captured],
            principal=LEDGER_PRINCIPAL,
        )
        # Refused charges keep their error; captures get their entry below.
        results: list[Outcome | None] = [c if isinstance(c, LedgerError) else None for c in charges]
        for (i, request, charge), outcome in zip(captured, posted, strict=True):
            if isinstance(outcome, Posted):
                results[i] = Captured(charge, outcome.entry, outcome.replayed)
            else:
                self._undo(request, charge, outcome)
                results[i] = outcome
        done = [r for r in results if r is not None]
        assert len(done) == len(requests)
        if log_captures_later:
            now = [(r, c, d) for r, c, d in zip(requests, charges, done, strict=True)
                   if not isinstance(d, Captured)]  # fmt: skip
            self._log([r for r, _, _ in now], [c for _, c, _ in now], [d for _, _, d in now])
        else:
            self._log(requests, charges, done)
        return done

    def record_external(self, charge: Charge, request: PaymentRequest) -> Captured:
        """A payment the provider captured on its own (a Stripe invoice): recorded in the
        ledger under ``request.key``, never charged again."""
        self.open_accounts([account for account, _ in request.destinations])
        posted = self.ledger.post_entry(
            request.entry(charge, self.provider.name),
            principal=LEDGER_PRINCIPAL,
            idempotency_key=request.ledger_key or request.key,
        )
        captured = Captured(charge, posted.entry, posted.replayed)
        self._log([request], [charge], [captured])
        return captured

    def _charge(self, request: PaymentRequest) -> Charge | LedgerError:
        try:
            check_payment_method(request.payment_method)
            return self.provider.charge(
                request.customer,
                request.amount,
                CURRENCY.lower(),
                request.payment_method,
                request.key,
                request.description or request.kind,
            )
        except LedgerError as error:
            return error

    def _undo(self, request: PaymentRequest, charge: Charge, error: LedgerError) -> None:
        """The ledger refused a capture (a bug or a reused key): give the money back."""
        log.error("ledger refused captured charge %s (%s): refunding", charge.id, error.detail)
        try:
            self.provider.refund(charge.id, charge.amount, f"{request.key}:undo")
        except PaymentError as refund_error:
            log.error("refund of %s failed: %s", charge.id, refund_error.detail)

    def _log(
        self,
        requests: Sequence[PaymentRequest],
        charges: Sequence[Charge | LedgerError],
        results: Sequence[Outcome],
        *,
        conn: Connection | None = None,
    ) -> None:
        attempts = []
        for request, charge, result in zip(requests, charges, results, strict=True):
            status = _status(charge, result)
            if status is None:
                continue  # refused before reaching the provider (e.g. a malformed method)
            attempts.append(
                Attempt(
                    request.key,
                    request.customer,
                    request.amount,
                    CURRENCY,
                    request.payment_method,
                    request.purpose,
                    status,
                    result.charge.id if isinstance(result, Captured) else None,
                    result.entry.id if isinstance(result, Captured) else None,
                    # When the charge was due: a billing run with --now logs it in that month.
                    at=request.effective_at,
                )
            )
        if attempts:
            self.attempts.record(attempts, self.clock(), conn=conn)
        if self.metrics is not None:
            for attempt in attempts:
                self.metrics.charge_attempted(attempt.purpose, attempt.status.value)

    def refund(
        self,
        entry_id: str,
        amount: int,
        *,
        key: str,
        kind: str,
        at_provider: bool = True,
        metadata: Mapping[str, Any] | None = None,
    ) -> Posted:
        """Give back ``amount`` cents of the capture recorded as ``entry_id``: the same
        accounts, back to ``world:card``, in proportion. ``at_provider=False`` when the
        provider already refunded (a webhook tells us)."""
        original = self.ledger.get_entry(entry_id)
        charge_id = str(original.metadata.get("charge_id", ""))
        if at_provider:
            self.provider.refund(charge_id, amount, key)
        postings = refund_postings(original, amount)
        request = NewEntry(
            kind, postings, metadata={**(metadata or {}), "refunds": entry_id,
                                      "charge_id": charge_id}
        )  # fmt: skip
        return self.ledger.post_entry(request, principal=LEDGER_PRINCIPAL, idempotency_key=key)


def _status(charge: Charge | LedgerError, result: Outcome) -> AttemptStatus | None:
    if isinstance(result, Captured):
        return AttemptStatus.SUCCEEDED
    if isinstance(charge, PaymentDeclined):
        return AttemptStatus.DECLINED
    if isinstance(charge, PaymentProviderUnavailable):
        return AttemptStatus.UNAVAILABLE
    return None


def refund_postings(original: Entry, amount: int) -> tuple[Posting, ...]:
    """The postings of ``original`` that left ``world:card``, reversed and scaled to
    ``amount`` (largest remainder: the parts add up to ``amount`` exactly)."""
    legs = [p for p in original.postings if p.source == WORLD_CARD]
    total = sum(p.amount for p in legs)
    if not 0 < amount <= total:
        raise InvalidRefund(f"a refund must be within 0.01..{format_amount(total, USD)}")
    shares = [(p.amount * amount) // total for p in legs]
    order = sorted(range(len(legs)), key=lambda i: -((legs[i].amount * amount) % total))
    for i in order[: amount - sum(shares)]:
        shares[i] += 1
    return tuple(
        Posting(p.destination, WORLD_CARD, p.asset, share)
        for p, share in zip(legs, shares, strict=True)
        if share > 0
    )


class InvalidRefund(InvalidRequest):
    """More than was captured, or nothing."""
