"""Earning rules, earnings, spends, gifts, admin adjustments and a user's history.

Every movement is one ledger entry. Daily caps and the gift limit are :class:`ledger.Limit`s,
checked by the journal writer under its lock: they hold under any concurrency, across
processes, and a refused event writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from ledger import (
    AZR,
    WRITE_TXN,
    Direction,
    Entry,
    EntryType,
    IdempotencyConflict,
    InvalidRequest,
    Ledger,
    Limit,
    LimitExceeded,
    NewEntry,
    NotFound,
    Posted,
    Posting,
    format_amount,
)
from ledger.model import validate_idempotency_key
from ledger.money import check_units
from monetization.ids import check_user_id
from monetization.rewards.accounts import AccountOpener
from monetization.rewards.config import RewardsConfig
from monetization.rewards.errors import (
    CapReached,
    TransferLimitReached,
    TransfersDisabled,
    UnknownEventType,
)
from monetization.rewards.model import (
    KIND_ADJUSTED_PREFIX,
    KIND_SPENT,
    KIND_TRANSFERRED,
    REWARDS_POOL,
    SPENT,
    EarningRule,
    adjusted_kind,
    check_event_type,
    earned_kind,
    user_account,
    utc_day,
)
from monetization.rewards.tables import reward_rules

HISTORY_MAX_LIMIT = 500
RULES_MAX = 1000

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Earning:
    entry: Entry
    user_id: str
    event_type: str
    amount: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class HistoryItem:
    entry_id: str
    seq: int
    kind: str
    amount: int  # signed: + credited to the user, - debited
    balance_after: int
    effective_at: datetime
    metadata: Mapping[str, Any]


class Earnings:
    """Rules as data, and the four direct movements (earn, spend, gift, adjust)."""

    def __init__(
        self,
        book: Ledger,
        accounts: AccountOpener,
        settings: RewardsConfig,
        clock: Clock = utcnow,
    ) -> None:
        self.book = book
        self.engine: Engine = book.engine
        self.accounts = accounts
        self.settings = settings
        self.clock = clock

    # --- rules -----------------------------------------------------------------------

    def rules(self) -> list[EarningRule]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reward_rules).order_by(reward_rules.c.event_type).limit(RULES_MAX)
            )
            return [_rule(r) for r in rows]

    def rule(self, event_type: str) -> EarningRule:
        """The active rule of ``event_type``; :class:`UnknownEventType` if none."""
        check_event_type(event_type)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(reward_rules).where(reward_rules.c.event_type == event_type)
            ).first()
        if row is None or not row.active:
            raise UnknownEventType(f"no active earning rule for event type {event_type!r}")
        return _rule(row)

    def put_rule(self, rule: EarningRule) -> EarningRule:
        """Create or replace a rule (admins). Takes effect for the next event."""
        check_units(rule.amount, AZR)
        values = {
            "amount": rule.amount,
            "daily_cap": rule.daily_cap,
            "active": rule.active,
            "updated_at": self.clock(),
        }
        with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
            updated = conn.execute(
                reward_rules.update()
                .where(reward_rules.c.event_type == rule.event_type)
                .values(**values)
            ).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            reward_rules.insert().values(event_type=rule.event_type, **values)
                        )
                except IntegrityError:
                    conn.execute(
                        reward_rules.update()
                        .where(reward_rules.c.event_type == rule.event_type)
                        .values(**values)
                    )
        return rule

    # --- earning ---------------------------------------------------------------------

    def earn(
        self,
        event_id: str,
        user_id: str,
        event_type: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        principal: str = "system",
    ) -> Earning:
        """Pay ``user_id`` the rule of ``event_type`` once per ``event_id`` (per principal).

        A repeat of the same event answers with the original earning (``replayed``); the same
        event id with another user, type or metadata is :class:`IdempotencyConflict`. An event
        past the rule's daily cap (UTC day) is :class:`CapReached` and earns nothing.
        """
        validate_idempotency_key(event_id)
        check_user_id(user_id)
        kind = earned_kind(event_type)
        # What makes this event this event: the ledger replays a repeat with the same
        # identity (whatever the rule or the instant is by then) and refuses another one
        # under the same event id. The amount, the rule and effective_at are not part of it.
        identity = {
            "event_id": event_id,
            "event_type": event_type,
            "user_id": user_id,
            "metadata": dict(metadata or {}),
        }
        try:
            rule = self.rule(event_type)
        except UnknownEventType:
            earned = self._earned_before(principal, event_id, kind, identity)
            if earned is None:
                raise
            return earned
        self.accounts.platform()
        account = self.accounts.user(user_id)
        # The instant is fixed here, so the cap's day and the entry's day are the same day.
        now = self.clock()
        limits: tuple[Limit, ...] = ()
        if rule.daily_cap is not None:
            since, until = utc_day(now)
            limits = (Limit(account, kind, since, until, rule.daily_cap, Direction.IN),)
        request = NewEntry(
            kind,
            (Posting(REWARDS_POOL, account, AZR.code, rule.amount),),
            metadata={
                "event_id": event_id,
                "event_type": event_type,
                "user_id": user_id,
                "rule": {"amount": str(rule.amount), "daily_cap": _opt_str(rule.daily_cap)},
                "metadata": identity["metadata"],
            },
            effective_at=now,
            limits=limits,
            identity=identity,
        )
        try:
            posted = self.book.post_entry(request, principal=principal, idempotency_key=event_id)
        except LimitExceeded:
            cap = format_amount(rule.daily_cap or 0, AZR)
            raise CapReached(
                f"user {user_id!r} reached today's cap of {cap} AZR for {event_type!r} "
                f"(UTC day {now.date().isoformat()}); this event earns nothing"
            ) from None
        return _earning(posted, user_id, event_type)

    def _earned_before(
        self, principal: str, event_id: str, kind: str, identity: Mapping[str, Any]
    ) -> Earning | None:
        """The earning of this event recorded before its rule was switched off, if any:
        the entry under ``event_id`` whose fingerprint is this identity's (the ledger's
        own comparison); None when the event id is unused."""
        found = self.book.entry_by_key(principal, event_id)
        if found is None:
            return None
        try:
            same = found.fingerprint == NewEntry(kind, (), identity=identity).fingerprint()
        except (TypeError, ValueError):  # not JSON: no entry was recorded with it
            same = False
        if not same:
            raise IdempotencyConflict(
                f"event id {event_id!r} was used for another event (entry {found.id})"
            )
        return _earning(Posted(found, replayed=True), identity["user_id"], identity["event_type"])

    # --- spending, gifts, corrections --------------------------------------------------

    def spend(
        self,
        user_id: str,
        amount: int,
        *,
        key: str,
        principal: str = "system",
        metadata: Mapping[str, Any] | None = None,
    ) -> Posted:
        """Pay ``amount`` for a platform item (reward.spent). InsufficientFunds if short."""
        check_units(amount, AZR)
        self.accounts.platform()
        account = self.accounts.user(user_id)
        request = NewEntry(
            KIND_SPENT,
            (Posting(account, SPENT, AZR.code, amount),),
            metadata={"user_id": user_id, "metadata": dict(metadata or {})},
        )
        return self.book.post_entry(request, principal=principal, idempotency_key=key)

    def gift(
        self,
        from_user: str,
        to_user: str,
        amount: int,
        *,
        key: str,
        principal: str = "system",
        message: str | None = None,
    ) -> Posted:
        """Give ``amount`` to another user (reward.transferred), within the daily limit."""
        if not self.settings.gifts_enabled:
            raise TransfersDisabled("gifts between users are switched off on this platform")
        check_units(amount, AZR)
        if check_user_id(from_user) == check_user_id(to_user):
            raise InvalidRequest("a gift needs two different users")
        source = self.accounts.user(from_user)
        destination = self.accounts.user(to_user)
        since, until = utc_day(self.clock())
        limit = Limit(
            source,
            KIND_TRANSFERRED,
            since,
            until,
            self.settings.gift_daily_limit_units,
            Direction.OUT,
        )
        metadata: dict[str, Any] = {"from_user": from_user, "to_user": to_user}
        if message is not None:
            metadata["message"] = message
        request = NewEntry(
            KIND_TRANSFERRED,
            (Posting(source, destination, AZR.code, amount),),
            metadata=metadata,
            limits=(limit,),
        )
        try:
            return self.book.post_entry(request, principal=principal, idempotency_key=key)
        except LimitExceeded:
            daily = format_amount(self.settings.gift_daily_limit_units, AZR)
            raise TransferLimitReached(
                f"user {from_user!r} may give at most {daily} AZR per UTC day"
            ) from None

    def adjust(self, entry_id: str, *, reason: str, key: str, principal: str = "system") -> Posted:
        """An admin correction: the reversal of a rewards entry, referencing it."""
        original = self.book.get_entry(entry_id)
        if not original.kind.startswith("reward.") or original.type is not EntryType.POSTED:
            raise InvalidRequest(f"entry {entry_id!r} is not a posted rewards entry")
        if original.kind.startswith(KIND_ADJUSTED_PREFIX):
            raise InvalidRequest("an adjustment is not adjusted again; adjust the original")
        if not reason or len(reason) > 500:
            raise InvalidRequest("an adjustment needs a reason of 1-500 characters")
        return self.book.reverse(
            entry_id,
            principal=principal,
            idempotency_key=key,
            kind=adjusted_kind(original.kind),
            metadata={"reason": reason, "adjusts": entry_id, "adjusts_kind": original.kind},
        )

    # --- reading -----------------------------------------------------------------------

    def balance(self, user_id: str) -> tuple[int, int]:
        """(balance, available) of the user's AZR account; zeros before first use."""
        try:
            bal = self.book.balance(user_account(user_id))
        except NotFound:
            return 0, 0
        return bal.balance, bal.available

    def history(
        self, user_id: str, *, before_seq: int | None = None, limit: int = 100
    ) -> list[HistoryItem]:
        """The user's AZR history, newest first, each line with its entry's metadata
        (for an earning: the event id, the rule and the event's own metadata)."""
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise InvalidRequest(f"limit must be within 1..{HISTORY_MAX_LIMIT}")
        try:
            lines = self.book.history(user_account(user_id), before_seq=before_seq, limit=limit)
        except NotFound:
            return []
        by_id = self.book.entries_by_ids({ln.entry_id for ln in lines})
        return [
            HistoryItem(
                ln.entry_id,
                ln.seq,
                ln.kind,
                ln.amount,
                ln.balance_after,
                ln.effective_at,
                by_id[ln.entry_id].metadata if ln.entry_id in by_id else {},
            )
            for ln in lines
        ]


def _earning(posted: Posted, user_id: str, event_type: str) -> Earning:
    """A replay answers with the amount the original earned, not today's rule."""
    amount = sum(p.amount for p in posted.entry.postings)
    return Earning(posted.entry, user_id, event_type, amount, posted.replayed)


def _rule(row: Any) -> EarningRule:
    return EarningRule(row.event_type, row.amount, row.daily_cap, row.active)


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)
