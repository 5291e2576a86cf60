"""The redemption workflow: request -> hold -> fulfil (post) | cancel, reject, fail (void),
or expire. Its states and transitions are one table, ``states.py``.

Crash safety rests on one ordering and one rule:

* the redemption row is written first (with the stock decrement, in one transaction),
  naming the idempotency key of its future hold (``redemption:{id}``); only then is the
  hold posted. A crash in between leaves a ``requested`` row that settling finishes by
  posting the hold with that same key (the ledger deduplicates it).
* the row's final status is *derived from the hold* (``settling.py``): before voiding,
  the intent is written; before posting, the fulfiller's effects are made idempotent.
  Moving a row to a final status is a conditional UPDATE (only from the status it was read
  in) in the same transaction as the restock or the entitlement, so each happens once.

Of actions racing on one redemption (fulfil, cancel, reject), the one whose claim is
written wins; the others raise :class:`RedemptionStateConflict` carrying the state that
won. Stock is a guarded decrement (``stock = stock - 1 WHERE stock >= 1``) under a CHECK
``stock >= 0``: it never goes below zero under any concurrency. Withdrawals add the chain
(``withdrawals.py``).

The parts: ``catalog.py`` (items), ``redemption_rows.py`` (the rows and their mapping),
``settling.py`` (derive a row from its hold), ``withdrawals.py`` (the mint); this module
composes them and holds the actions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from ledger import HoldAction, IdempotencyConflict, Ledger, LedgerError
from ledger.model import validate_idempotency_key
from monetization.ids import check_user_id
from monetization.rewards.accounts import AccountOpener
from monetization.rewards.catalog import Catalog
from monetization.rewards.config import RewardsConfig
from monetization.rewards.errors import (
    InvalidRedemption,
    RedemptionNotFound,
    RedemptionStateConflict,
    UnknownItem,
)
from monetization.rewards.fulfilment import FULFILLERS, Minter, MintPending
from monetization.rewards.model import (
    CatalogItem,
    Entitlement,
    ItemType,
    Redemption,
)
from monetization.rewards.redemption_rows import PAGE_MAX, SETTLE_BATCH_MAX, RedemptionRows
from monetization.rewards.settling import HOLD_PRINCIPAL, REQUESTED_GRACE_S, Settler
from monetization.rewards.states import (
    CANCEL,
    FULFIL,
    OPEN,
    REJECT,
    Action,
    RedemptionStatus,
    action_won,
)
from monetization.rewards.withdrawals import MINT_GRACE_S, MinterFactory, Withdrawals

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 500
Clock = Callable[[], datetime]


class Redemptions:
    def __init__(
        self,
        book: Ledger,
        accounts: AccountOpener,
        settings: RewardsConfig,
        clock: Clock,
        minter: MinterFactory | None = None,
    ) -> None:
        self.book = book
        self.accounts = accounts
        self.settings = settings
        self.clock = clock
        self.rows = RedemptionRows(book.engine, clock)
        self.items = Catalog(book.engine, clock)
        self.settler = Settler(book, accounts, self.rows, clock)
        self.withdrawals = Withdrawals(book, self.rows, self.settler, clock, minter)

    # --- catalog -----------------------------------------------------------------------

    def put_item(self, item: CatalogItem) -> tuple[CatalogItem, bool]:
        return self.items.put_item(item)

    def restock(self, item_id: str, add: int) -> CatalogItem:
        return self.items.restock(item_id, add)

    def item(self, item_id: str) -> CatalogItem:
        return self.items.item(item_id)

    def catalog(self, *, include_inactive: bool = False) -> list[CatalogItem]:
        return self.items.items(include_inactive=include_inactive)

    def minter(self) -> Minter:
        return self.withdrawals.minter()

    # --- requesting ----------------------------------------------------------------------

    def request(
        self,
        user_id: str,
        item_id: str,
        request_key: str,
        *,
        shipping_address: Mapping[str, Any] | None = None,
        eth_address: str | None = None,
    ) -> tuple[Redemption, bool]:
        """Reserve the item's price with a hold; returns (redemption, created).

        The same ``request_key`` again answers with the redemption as it is now
        (``created`` False); with another item or address it is IdempotencyConflict. Refused
        requests (InsufficientFunds, OutOfStock, invalid) write nothing and keep the key free.
        """
        check_user_id(user_id)
        validate_idempotency_key(request_key)
        existing = self.rows.by_request(user_id, request_key)
        if existing is not None:
            return self._replay(existing, item_id, shipping_address, eth_address), False
        item = self.item(item_id)
        if not item.active:
            raise UnknownItem(f"catalog item {item_id!r} is not offered")
        FULFILLERS[item.type].validate(item, shipping_address, eth_address)
        account = self.accounts.user(user_id)
        self.accounts.platform()
        try:
            redemption = self._write_request(
                user_id, item, request_key, shipping_address, eth_address
            )
        except IntegrityError:
            # The same key, concurrently: the other request's row won.
            existing = self.rows.by_request(user_id, request_key)
            if existing is None:
                raise
            return self._replay(existing, item_id, shipping_address, eth_address), False
        try:
            self.settler.post_hold(redemption, account)
        except LedgerError:
            self.rows.forget(redemption.id)
            raise
        return self.get(user_id, redemption.id), True

    def _write_request(
        self,
        user_id: str,
        item: CatalogItem,
        request_key: str,
        shipping_address: Mapping[str, Any] | None,
        eth_address: str | None,
    ) -> Redemption:
        ttl_s = self._ttl_s(item.type)
        return self.rows.insert(
            user_id,
            item,
            request_key,
            ttl_s=ttl_s,
            shipping_address=shipping_address,
            eth_address=eth_address,
        )

    def _ttl_s(self, item_type: ItemType) -> int:
        if item_type is ItemType.MERCHANDISE:
            return self.settings.merchandise_hold_ttl_s
        if item_type is ItemType.ONCHAIN_WITHDRAWAL:
            return self.settings.withdrawal_hold_ttl_s
        return self.settings.hold_ttl_s

    def _replay(
        self,
        r: Redemption,
        item_id: str,
        shipping_address: Mapping[str, Any] | None,
        eth_address: str | None,
    ) -> Redemption:
        same = (
            r.item_id == item_id
            and (r.shipping_address or None)
            == (dict(shipping_address) if shipping_address else None)
            and r.eth_address == (eth_address.lower() if eth_address else None)
        )
        if not same:
            raise IdempotencyConflict(
                f"idempotency key {r.request_key!r} was used for another redemption ({r.id})"
            )
        if r.status is RedemptionStatus.REQUESTED:
            self.settler.settle_one(r.id)
        return self.rows.load(r.id)

    # --- resolving -------------------------------------------------------------------------

    def process(self, redemption_id: str) -> Redemption:
        """Fulfil an automatic redemption (unlocks, withdrawals) that is held; any other
        answers as it is."""
        r = self.settler.settle_one(redemption_id)
        if r.status is not RedemptionStatus.HELD or not FULFILLERS[r.item_type].automatic:
            return r
        return self._fulfil(r)[0]

    def fulfil(self, redemption_id: str) -> Redemption:
        """Fulfil a held redemption (admins: merchandise shipped; a withdrawal mints). A
        repeat answers as is; RedemptionStateConflict if it ended (or is ending) otherwise."""
        r = self.rows.load(redemption_id)
        if r.status is RedemptionStatus.FULFILLED:
            return r
        r = self.settler.settle_one(r.id)
        settled, claimed = self._fulfil(r) if r.status is RedemptionStatus.HELD else (r, False)
        return self._answer(FULFIL, settled, claimed)

    def cancel(self, user_id: str, redemption_id: str) -> Redemption:
        """The user takes it back while it is held: the hold is voided."""
        self.get(user_id, redemption_id)
        return self._void(redemption_id, CANCEL, "cancelled by the user")

    def reject(self, redemption_id: str, reason: str) -> Redemption:
        """An admin refuses it (e.g. cannot ship there): the hold is voided."""
        if not reason or len(reason) > REASON_MAX_CHARS:
            raise InvalidRedemption(
                f"a rejection needs a reason of 1-{REASON_MAX_CHARS} characters"
            )
        return self._void(redemption_id, REJECT, reason)

    def _fulfil(self, r: Redemption) -> tuple[Redemption, bool]:
        """Claim held ``r`` for fulfilment and carry it out: (the row after, claimed)."""
        if not self.rows.claim(r, RedemptionStatus.FULFILLED, None):
            return self.settler.settle_one(r.id), False
        if r.item_type is ItemType.ONCHAIN_WITHDRAWAL:
            return self.withdrawals.mint(self.rows.load(r.id)), True
        return self.settler.resolve(r, HoldAction.POST), True

    def _void(self, redemption_id: str, action: Action, reason: str) -> Redemption:
        r = self.rows.load(redemption_id)
        if r.status is action.intent:
            return r
        r = self.settler.settle_one(r.id)
        claimed = r.status is RedemptionStatus.HELD and self.rows.claim(r, action.intent, reason)
        settled = (
            self.settler.resolve(r, HoldAction.VOID) if claimed else self.settler.settle_one(r.id)
        )
        return self._answer(action, settled, claimed)

    @staticmethod
    def _answer(action: Action, r: Redemption, claimed: bool) -> Redemption:
        """``r`` if ``action`` won it; else the conflict, carrying the state that won."""
        if action_won(action, claimed, r.status, r.intent):
            return r
        being = f" (being {r.intent.value})" if r.intent and r.status in OPEN else ""
        raise RedemptionStateConflict(
            f"cannot {action.name} redemption {r.id}: it is {r.status.value}{being}",
            redemption_id=r.id,
            status=r.status.value,
            intent=r.intent.value if r.intent and r.status in OPEN else None,
        )

    # --- settling ------------------------------------------------------------------------

    def settle_one(self, redemption_id: str) -> Redemption:
        """Bring the row in line with its hold (idempotent; safe after any crash)."""
        return self.settler.settle_one(redemption_id)

    def settle(self, *, limit: int = SETTLE_BATCH_MAX) -> int:
        """Finish what crashes or deadlines left open: requested rows, expired holds,
        unconfirmed mints. Returns how many rows were looked at. Run by ``azora rewards
        settle`` (and safe to run from many processes at once)."""
        ids = self.rows.to_settle(self.clock(), limit)
        for redemption_id in ids:
            try:
                r = self.settler.settle_one(redemption_id)
                if r.status is RedemptionStatus.MINTING:
                    self.withdrawals.settle_mint(r)
                elif r.status is RedemptionStatus.HELD and r.intent is None:
                    self.process(r.id)
            except LedgerError as error:
                log.warning("settling redemption %s: %s", redemption_id, error.detail)
            except MintPending as error:
                log.warning("settling redemption %s: %s", redemption_id, error)
        return len(ids)

    # --- reading -------------------------------------------------------------------------

    def get(self, user_id: str, redemption_id: str) -> Redemption:
        r = self.rows.find(redemption_id)
        if r is None or r.user_id != user_id:
            raise RedemptionNotFound(f"no redemption {redemption_id!r} for user {user_id!r}")
        return r

    def list_for_user(
        self, user_id: str, *, before: str | None = None, limit: int = 100
    ) -> list[Redemption]:
        """Newest first; ``before`` is the id of the last one of the previous page."""
        check_user_id(user_id)
        anchor = None if before is None else self.get(user_id, before)
        found = self.rows.page(user_id, anchor, max(1, min(limit, PAGE_MAX)))
        # Deadlines passed since: show them as they are (expired), not as they were.
        now = self.clock()
        return [
            self.settler.settle_one(r.id) if r.status in OPEN and r.expires_at <= now else r
            for r in found
        ]

    def entitlements(self, user_id: str, *, at: datetime | None = None) -> list[Entitlement]:
        """The user's unlocks still valid at ``at`` (default now): what other modules read."""
        return self.rows.entitlements(check_user_id(user_id), at or self.clock())


__all__ = [
    "HOLD_PRINCIPAL",
    "MINT_GRACE_S",
    "PAGE_MAX",
    "REQUESTED_GRACE_S",
    "MinterFactory",
    "Redemptions",
]
