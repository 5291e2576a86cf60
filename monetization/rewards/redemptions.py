"""The redemption workflow: request -> hold -> fulfil (post) | cancel, reject, fail (void),
or expire.

Crash safety rests on one ordering and one rule:

* the redemption row is written first (with the stock decrement, in one transaction),
  naming the idempotency key of its future hold (``redemption:{id}``); only then is the
  hold posted. A crash in between leaves a ``requested`` row that :meth:`settle` finishes
  by posting the hold with that same key (the ledger deduplicates it).
* the row's final status is *derived from the hold*: posted -> fulfilled, voided ->
  the recorded intent (cancelled / rejected / failed), expired -> expired. Before voiding,
  the intent is written; before posting, the fulfiller's effects are made idempotent.
  Moving a row to a final status is a conditional UPDATE (only from an open status) in
  the same transaction as the restock or the entitlement, so each happens exactly once.

Stock is a guarded decrement (``stock = stock - 1 WHERE stock >= 1``) under a CHECK
``stock >= 0``: it never goes below zero under any concurrency.

Withdrawals add the chain to this, with the chain-write saga's "record, then act" ordering
(``chain/saga.py``, shared with anchoring): the claim moves the row to ``minting``; the mint
is *signed* (not sent) and the signed bytes, nonce, signer and chain are stored with the
row (``mint_state`` signed) -- a conditional UPDATE that only a row still minting and not
being abandoned accepts; only then is it broadcast (submitted) and waited for. Whatever a
crash interrupts, :meth:`Redemptions.settle` asks the chain about the stored transaction:

* mined and succeeded -> confirmed: the hold is posted (if the hold ended meanwhile -- the
  ledger's sweeper expired it -- the price is debited by a plain entry instead, so the
  ledger never lags the token's supply);
* mined and reverted -> failed: the hold is voided, the tokens are back;
* not mined, and its nonce used by a mined transaction -> dropped: it can never be mined;
  the hold is voided (no re-signing: the user asks again, and no second transaction for
  one withdrawal ever exists);
* not mined, nonce free -> the same bytes are broadcast again.

A row ``minting`` with no stored transaction never sent anything (the record precedes the
broadcast): after a grace period it is abandoned (failed, hold voided) by a conditional
UPDATE that the recording of a late signer then loses. While a mint is in flight, the
hold's deadline does not end the redemption: the chain does.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.exc import IntegrityError

from ledger import (
    AZR,
    HoldAction,
    HoldNotPending,
    HoldState,
    HoldStatus,
    IdempotencyConflict,
    Ledger,
    LedgerError,
    NewEntry,
    NotFound,
    Posting,
)
from ledger.model import validate_idempotency_key
from ledger.money import check_units
from ledger.store.engine import WRITE_TXN
from monetization.ids import check_user_id
from monetization.rewards.accounts import AccountOpener
from monetization.rewards.config import RewardsConfig
from monetization.rewards.errors import (
    InvalidRedemption,
    OutOfStock,
    RedemptionNotFound,
    RedemptionStateConflict,
    UnknownItem,
)
from monetization.rewards.fulfilment import (
    FULFILLERS,
    Minter,
    MintError,
    MintFailed,
    MintPending,
)
from monetization.rewards.model import (
    ITEM_ID_RE,
    KIND_REDEEMED,
    OPEN,
    REDEEMED,
    WITHDRAWN,
    CatalogItem,
    Entitlement,
    ItemType,
    MintState,
    Redemption,
    RedemptionStatus,
    SignedMint,
    user_account,
)
from monetization.rewards.tables import reward_catalog, reward_entitlements, reward_redemptions

log = logging.getLogger(__name__)

HOLD_PRINCIPAL = "rewards:redemptions"
PAGE_MAX = 500
SETTLE_BATCH_MAX = 500
CATALOG_MAX = 1000
# A `requested` row younger than this may still be in its first request's hands.
REQUESTED_GRACE_S = 30
# A `minting` row with no recorded transaction younger than this may still be signing.
MINT_GRACE_S = 60
NAME_MAX_CHARS = 200

Clock = Callable[[], datetime]
MinterFactory = Callable[[], Minter]


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
        self.engine: Engine = book.engine
        self.accounts = accounts
        self.settings = settings
        self.clock = clock
        self._minter_factory = minter
        self._minter: Minter | None = None

    # --- catalog -----------------------------------------------------------------------

    def put_item(self, item: CatalogItem) -> tuple[CatalogItem, bool]:
        """Create a catalog item (admins); an identical one again returns it, not new."""
        if not ITEM_ID_RE.fullmatch(item.id):
            raise InvalidRedemption(f"item id {item.id!r:.80} must match ^{ITEM_ID_RE.pattern}$")
        if not item.name or len(item.name) > NAME_MAX_CHARS:
            raise InvalidRedemption(f"item name must be 1-{NAME_MAX_CHARS} characters")
        check_units(item.price, AZR)
        if item.stock is not None and item.stock < 0:
            raise InvalidRedemption("stock must be >= 0 (or absent: unlimited)")
        try:
            with self._write() as conn:
                conn.execute(
                    reward_catalog.insert().values(
                        id=item.id,
                        name=item.name,
                        type=item.type.value,
                        price=item.price,
                        stock=item.stock,
                        active=item.active,
                        metadata=dict(item.metadata),
                        created_at=self.clock(),
                    )
                )
        except IntegrityError:
            existing = self.item(item.id)
            if (existing.name, existing.type, existing.price) != (item.name, item.type, item.price):
                raise IdempotencyConflict(
                    f"catalog item {item.id!r} exists with other settings"
                ) from None
            return existing, False
        return item, True

    def restock(self, item_id: str, add: int) -> CatalogItem:
        if add <= 0:
            raise InvalidRedemption("restock adds a positive number of units")
        with self._write() as conn:
            conn.execute(
                reward_catalog.update()
                .where(reward_catalog.c.id == item_id, reward_catalog.c.stock.is_not(None))
                .values(stock=reward_catalog.c.stock + add)
            )
        return self.item(item_id)

    def item(self, item_id: str) -> CatalogItem:
        with self.engine.connect() as conn:
            row = conn.execute(select(reward_catalog).where(reward_catalog.c.id == item_id)).first()
        if row is None:
            raise UnknownItem(f"no catalog item {item_id!r}")
        return _item(row)

    def catalog(self, *, include_inactive: bool = False) -> list[CatalogItem]:
        stmt = select(reward_catalog).order_by(reward_catalog.c.id).limit(CATALOG_MAX)
        if not include_inactive:
            stmt = stmt.where(reward_catalog.c.active.is_(True))
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(stmt)]

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
        existing = self._by_request(user_id, request_key)
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
            existing = self._by_request(user_id, request_key)
            if existing is None:
                raise
            return self._replay(existing, item_id, shipping_address, eth_address), False
        try:
            self._post_hold(redemption, account)
        except LedgerError:
            self._forget(redemption.id)
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
        now = self.clock()
        redemption_id = str(uuid.uuid4())
        with self._write() as conn:
            if item.stock is not None:
                taken = conn.execute(
                    reward_catalog.update()
                    .where(reward_catalog.c.id == item.id, reward_catalog.c.stock >= 1)
                    .values(stock=reward_catalog.c.stock - 1)
                ).rowcount
                if taken != 1:
                    raise OutOfStock(f"catalog item {item.id!r} is out of stock")
            conn.execute(
                reward_redemptions.insert().values(
                    id=redemption_id,
                    user_id=user_id,
                    item_id=item.id,
                    item_type=item.type.value,
                    price=item.price,
                    status=RedemptionStatus.REQUESTED.value,
                    request_key=request_key,
                    hold_key=f"redemption:{redemption_id}",
                    shipping_address=dict(shipping_address) if shipping_address else None,
                    eth_address=eth_address.lower() if eth_address else None,
                    fulfilment={"days": item.unlock_days} if item.unlock_days else None,
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(seconds=self._ttl_s(item.type)),
                )
            )
        return self._load(redemption_id)

    def _ttl_s(self, item_type: ItemType) -> int:
        if item_type is ItemType.MERCHANDISE:
            return self.settings.merchandise_hold_ttl_s
        if item_type is ItemType.ONCHAIN_WITHDRAWAL:
            return self.settings.withdrawal_hold_ttl_s
        return self.settings.hold_ttl_s

    def _post_hold(self, r: Redemption, account: str) -> None:
        destination = WITHDRAWN if r.item_type is ItemType.ONCHAIN_WITHDRAWAL else REDEEMED
        request = NewEntry(
            KIND_REDEEMED,
            (Posting(account, destination, AZR.code, r.price),),
            metadata={
                "redemption_id": r.id,
                "user_id": r.user_id,
                "item_id": r.item_id,
                "item_type": r.item_type.value,
            },
            pending=True,
            expires_at=r.expires_at,
        )
        posted = self.book.post_hold(request, principal=HOLD_PRINCIPAL, idempotency_key=r.hold_key)
        with self._write() as conn:
            conn.execute(
                reward_redemptions.update()
                .where(
                    reward_redemptions.c.id == r.id,
                    reward_redemptions.c.status == RedemptionStatus.REQUESTED.value,
                )
                .values(
                    status=RedemptionStatus.HELD.value,
                    hold_entry_id=posted.entry.id,
                    updated_at=self.clock(),
                )
            )

    def _forget(self, redemption_id: str) -> None:
        """Undo a refused request: the row goes, the stock comes back (nothing was held)."""
        with self._write() as conn:
            row = conn.execute(
                select(reward_redemptions.c.item_id).where(
                    reward_redemptions.c.id == redemption_id,
                    reward_redemptions.c.status == RedemptionStatus.REQUESTED.value,
                )
            ).first()
            if row is None:
                return
            conn.execute(
                reward_redemptions.delete().where(
                    reward_redemptions.c.id == redemption_id,
                    reward_redemptions.c.status == RedemptionStatus.REQUESTED.value,
                )
            )
            _restock(conn, row.item_id)

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
            self.settle_one(r.id)
        return self._load(r.id)

    # --- resolving -------------------------------------------------------------------------

    def process(self, redemption_id: str) -> Redemption:
        """Fulfil an automatic redemption (unlocks, withdrawals) that is held."""
        r = self._load(redemption_id)
        if r.status is RedemptionStatus.REQUESTED:
            r = self.settle_one(r.id)
        if r.status is not RedemptionStatus.HELD or not FULFILLERS[r.item_type].automatic:
            return r
        if r.item_type is ItemType.ONCHAIN_WITHDRAWAL:
            return self._withdraw(r)
        return self._fulfil(r)

    def fulfil(self, redemption_id: str) -> Redemption:
        """Fulfil a held redemption (admins: merchandise shipped). A repeat answers as is."""
        r = self._load(redemption_id)
        if r.status is RedemptionStatus.FULFILLED:
            return r
        if r.item_type is ItemType.ONCHAIN_WITHDRAWAL:
            return self.process(redemption_id)
        if r.status is not RedemptionStatus.HELD:
            raise RedemptionStateConflict(f"redemption {r.id} is {r.status.value}")
        return self._fulfil(r)

    def cancel(self, user_id: str, redemption_id: str) -> Redemption:
        """The user takes it back while it is held: the hold is voided."""
        self.get(user_id, redemption_id)
        return self._void(redemption_id, RedemptionStatus.CANCELLED, "cancelled by the user")

    def reject(self, redemption_id: str, reason: str) -> Redemption:
        """An admin refuses it (e.g. cannot ship there): the hold is voided."""
        if not reason or len(reason) > 500:
            raise InvalidRedemption("a rejection needs a reason of 1-500 characters")
        return self._void(redemption_id, RedemptionStatus.REJECTED, reason)

    def _claim(self, r: Redemption, intent: RedemptionStatus, reason: str | None) -> bool:
        """Record what will end ``r`` (only one of fulfil / cancel / reject wins)."""
        values: dict[str, Any] = {"intent": intent.value, "updated_at": self.clock()}
        if reason is not None:
            values["reason"] = reason
        if intent is RedemptionStatus.FULFILLED and r.item_type is ItemType.ONCHAIN_WITHDRAWAL:
            values["status"] = RedemptionStatus.MINTING.value
        with self._write() as conn:
            return bool(
                conn.execute(
                    reward_redemptions.update()
                    .where(
                        reward_redemptions.c.id == r.id,
                        reward_redemptions.c.status == RedemptionStatus.HELD.value,
                        reward_redemptions.c.intent.is_(None),
                    )
                    .values(**values)
                ).rowcount
                == 1
            )

    def _void(self, redemption_id: str, intent: RedemptionStatus, reason: str) -> Redemption:
        r = self._load(redemption_id)
        if r.status is intent:
            return r
        if r.status is RedemptionStatus.REQUESTED:
            r = self.settle_one(r.id)
        if not self._claim(r, intent, reason):
            r = self._load(redemption_id)
            if r.status is intent or (r.intent is intent and r.status in OPEN):
                return self.settle_one(r.id)
            raise RedemptionStateConflict(
                f"redemption {r.id} is {r.status.value}"
                + (f" (being {r.intent.value})" if r.intent and r.status in OPEN else "")
            )
        return self._resolve(r, HoldAction.VOID)

    def _fulfil(self, r: Redemption) -> Redemption:
        if not self._claim(r, RedemptionStatus.FULFILLED, None):
            return self.settle_one(r.id)
        return self._resolve(r, HoldAction.POST)

    def _resolve(self, r: Redemption, action: HoldAction) -> Redemption:
        assert r.hold_entry_id is not None
        # Resolved otherwise (e.g. expired) is fine: settle_one derives the outcome.
        with contextlib.suppress(HoldNotPending):
            self.book.resolve_hold(r.hold_entry_id, action)
        return self.settle_one(r.id)

    def _withdraw(self, r: Redemption) -> Redemption:
        assert r.eth_address is not None
        if not self._claim(r, RedemptionStatus.FULFILLED, None):
            return self.settle_one(r.id)
        try:
            minter = self.minter()
            signed = minter.sign_mint(r.eth_address, r.price)
        except MintError as error:  # no chain, refused, reverted in simulation: none signed
            log.warning("withdrawal %s: mint not signed: %s", r.id, error)
            return self._abandon_mint(r, f"mint failed: {error}")
        try:
            recorded = self._record_mint(r.id, signed)
        except Exception:
            minter.discard(signed)  # not recorded, so never to be sent
            raise
        if not recorded:
            # Abandoned meanwhile (settle took it for interrupted): never send this one.
            minter.discard(signed)
            return self.settle_one(r.id)
        # A crash from here on leaves a recorded transaction: settle sends or settles it.
        return self._send_mint(self._load(r.id))

    def _record_mint(self, redemption_id: str, signed: SignedMint) -> bool:
        """Store the signed mint with its row, unless the row was abandoned or has one."""
        c = reward_redemptions.c
        with self._write() as conn:
            return bool(
                conn.execute(
                    reward_redemptions.update()
                    .where(
                        c.id == redemption_id,
                        c.status == RedemptionStatus.MINTING.value,
                        c.intent == RedemptionStatus.FULFILLED.value,
                        c.tx_hash.is_(None),
                    )
                    .values(
                        tx_hash=signed.tx_hash,
                        mint_state=MintState.SIGNED.value,
                        mint_chain_id=signed.chain_id,
                        mint_signer=signed.signer,
                        mint_nonce=signed.nonce,
                        mint_raw=signed.raw,
                        updated_at=self.clock(),
                    )
                ).rowcount
                == 1
            )

    def _send_mint(self, r: Redemption) -> Redemption:
        assert r.mint is not None
        try:
            self.minter().broadcast(r.mint)
        except MintPending as error:
            log.warning("withdrawal %s: %s (settle sends it again)", r.id, error)
            return r
        self._set_mint_state(r.id, MintState.SUBMITTED)
        # A crash from here on: settle finds the receipt, or sends the same bytes again.
        return self._confirm_mint(self._load(r.id))

    def _confirm_mint(self, r: Redemption) -> Redemption:
        assert r.tx_hash is not None
        try:
            self.minter().wait_mint(r.tx_hash)
        except MintFailed as error:
            return self._mint_failed(r, str(error), MintState.FAILED)
        except MintPending as error:
            log.warning("withdrawal %s: mint %s not confirmed yet: %s", r.id, r.tx_hash, error)
            return self._load(r.id)
        self._set_mint_state(r.id, MintState.CONFIRMED)
        return self._post_mint(self._load(r.id))

    def _settle_mint(self, r: Redemption) -> Redemption:
        """Finish a ``minting`` row from what the chain says about its transaction."""
        if r.mint is None:
            if self.clock() - r.updated_at < timedelta(seconds=MINT_GRACE_S):
                return r  # may still be signing in its first request's hands
            return self._abandon_mint(r, "mint failed: interrupted before it was signed")
        if r.mint_state is MintState.CONFIRMED:
            return self._post_mint(r)
        if r.mint_state in (MintState.FAILED, MintState.DROPPED):
            return self._resolve(r, HoldAction.VOID)  # a crash after the verdict: finish it
        if r.mint_state is None or not r.mint_state.in_flight:
            return self.settle_one(r.id)
        try:
            status = self.minter().inspect(r.mint)
            if status.resend:
                self.minter().broadcast(r.mint)
                self._set_mint_state(r.id, MintState.SUBMITTED)
                log.info("withdrawal %s: mint %s sent again", r.id, r.tx_hash)
                status = self.minter().inspect(r.mint)
        except MintError as error:  # chain unreachable, no minter configured...: wait
            log.warning("withdrawal %s: cannot settle mint %s yet: %s", r.id, r.tx_hash, error)
            return self._load(r.id)
        if status.state is MintState.CONFIRMED:
            self._set_mint_state(r.id, MintState.CONFIRMED)
            return self._post_mint(self._load(r.id))
        if status.state is MintState.FAILED:
            return self._mint_failed(r, status.detail, MintState.FAILED)
        if status.state is MintState.DROPPED:
            return self._mint_failed(r, f"mint dropped: {status.detail}", MintState.DROPPED)
        return self._load(r.id)  # unmined (sent again) or not deep enough: next time

    def _post_mint(self, r: Redemption) -> Redemption:
        """The mint is confirmed: post the hold, or debit late if the hold ended."""
        assert r.hold_entry_id is not None
        with contextlib.suppress(HoldNotPending):
            self.book.resolve_hold(r.hold_entry_id, HoldAction.POST)
        if self.book.hold_state(r.hold_entry_id).status is HoldStatus.POSTED:
            return self.settle_one(r.id)
        return self._debit_late(r)

    def _debit_late(self, r: Redemption) -> Redemption:
        """The mint landed after the hold ended (expired by the ledger's sweeper): take the
        price with a plain entry (same kind, same accounts, its own key) so the ledger's
        withdrawn balance still equals the supply. Refused (the user spent the tokens
        since): the row stays minting with the reason, reconcile shows the gap, and every
        settle tries again."""
        request = NewEntry(
            KIND_REDEEMED,
            (Posting(user_account(r.user_id), WITHDRAWN, AZR.code, r.price),),
            metadata={
                "redemption_id": r.id,
                "user_id": r.user_id,
                "item_id": r.item_id,
                "item_type": r.item_type.value,
                "tx_hash": r.tx_hash,
                "late_for_hold": r.hold_entry_id,
            },
        )
        try:
            posted = self.book.post_entry(
                request, principal=HOLD_PRINCIPAL, idempotency_key=f"{r.hold_key}:late"
            )
        except LedgerError as error:
            log.error(
                "withdrawal %s: mint %s confirmed after its hold ended, and the debit was "
                "refused: %s",
                r.id,
                r.tx_hash,
                error.detail,
            )
            self._update(
                r.id,
                reason=f"minted after the hold ended; debit refused ({error.code}), retrying",
            )
            return self._load(r.id)
        now = self.clock()
        with self._write() as conn:
            conn.execute(
                reward_redemptions.update()
                .where(
                    reward_redemptions.c.id == r.id,
                    reward_redemptions.c.status == RedemptionStatus.MINTING.value,
                )
                .values(
                    status=RedemptionStatus.FULFILLED.value,
                    updated_at=now,
                    fulfilment={
                        **(r.fulfilment or {}),
                        "tx_hash": r.tx_hash,
                        "late_entry_id": posted.entry.id,
                    },
                )
            )
        return self._load(r.id)

    def _mint_failed(self, r: Redemption, reason: str, state: MintState) -> Redemption:
        """A recorded mint that can never succeed (reverted, dropped): void the hold. (The
        chain's verdict and the intent are written together: a crash leaves both or none.)"""
        self._update(
            r.id, intent=RedemptionStatus.FAILED.value, reason=reason[:500], mint_state=state.value
        )
        return self._resolve(self._load(r.id), HoldAction.VOID)

    def _abandon_mint(self, r: Redemption, reason: str) -> Redemption:
        """A ``minting`` row without a recorded transaction (so nothing was ever sent): fail
        it, unless a mint got recorded first (the conditional UPDATE decides)."""
        c = reward_redemptions.c
        with self._write() as conn:
            won = conn.execute(
                reward_redemptions.update()
                .where(
                    c.id == r.id,
                    c.status == RedemptionStatus.MINTING.value,
                    c.intent == RedemptionStatus.FULFILLED.value,
                    c.tx_hash.is_(None),
                )
                .values(
                    intent=RedemptionStatus.FAILED.value,
                    reason=reason[:500],
                    updated_at=self.clock(),
                )
            ).rowcount
        if won != 1:
            return self.settle_one(r.id)
        return self._resolve(self._load(r.id), HoldAction.VOID)

    def _set_mint_state(self, redemption_id: str, state: MintState) -> None:
        c = reward_redemptions.c
        with self._write() as conn:
            conn.execute(
                reward_redemptions.update()
                .where(
                    c.id == redemption_id,
                    c.mint_state.in_([MintState.SIGNED.value, MintState.SUBMITTED.value]),
                )
                .values(mint_state=state.value, updated_at=self.clock())
            )

    def minter(self) -> Minter:
        if self._minter is None:
            if self._minter_factory is None:
                raise MintFailed("no chain is configured for withdrawals")
            self._minter = self._minter_factory()
        return self._minter

    # --- settling: derive the row from the hold ------------------------------------------

    def settle_one(self, redemption_id: str) -> Redemption:
        """Bring the row in line with its hold (idempotent; safe after any crash)."""
        r = self._load(redemption_id)
        if r.status is RedemptionStatus.REQUESTED:
            return self._settle_requested(r)
        if r.status not in OPEN or r.hold_entry_id is None:
            return r
        state = self.book.hold_state(r.hold_entry_id)
        if (
            r.status is RedemptionStatus.MINTING
            and r.intent is RedemptionStatus.FULFILLED
            and state.status is not HoldStatus.POSTED
            and (r.mint is not None or state.status is HoldStatus.PENDING)
        ):
            # A mint is (or may be about to be) in flight: the chain ends this redemption,
            # not the hold's deadline (settle asks it). Without a recorded mint, a passed
            # deadline first abandons the row (which a late recording then loses).
            if r.mint is None and r.expires_at <= self.clock():
                return self._abandon_mint(r, "expired before its mint was signed")
            return r
        if state.status is HoldStatus.PENDING:
            if r.expires_at <= self.clock():
                self.book.resolve_hold(r.hold_entry_id, HoldAction.VOID)  # records the expiry
                state = self.book.hold_state(r.hold_entry_id)
            else:
                return r
        return self._finish(r, state)

    def _settle_requested(self, r: Redemption) -> Redemption:
        """A row whose hold may or may not exist: post it with its key (deduplicated)."""
        if self.clock() - r.created_at < timedelta(seconds=REQUESTED_GRACE_S):
            return r
        try:
            self._post_hold(r, self.accounts.user(r.user_id))
        except LedgerError as error:
            log.info("redemption %s: hold refused on settling (%s): dropped", r.id, error.code)
            self._forget(r.id)
            raise RedemptionNotFound(f"redemption {r.id} was refused: {error.detail}") from None
        return self.settle_one(r.id)

    def _finish(self, r: Redemption, state: HoldState) -> Redemption:
        final = {
            HoldStatus.POSTED: RedemptionStatus.FULFILLED,
            HoldStatus.VOIDED: r.intent
            if r.intent and r.intent is not RedemptionStatus.FULFILLED
            else RedemptionStatus.FAILED,
            HoldStatus.EXPIRED: RedemptionStatus.EXPIRED,
        }[state.status]
        now = self.clock()
        where = [
            reward_redemptions.c.id == r.id,
            reward_redemptions.c.status.in_([s.value for s in OPEN]),
        ]
        if r.tx_hash is None:  # a mint recorded since we looked: the chain decides, not us
            where.append(reward_redemptions.c.tx_hash.is_(None))
        with self._write() as conn:
            moved = conn.execute(
                reward_redemptions.update().where(*where).values(status=final.value, updated_at=now)
            ).rowcount
            if moved == 1:
                if final is RedemptionStatus.FULFILLED:
                    summary = FULFILLERS[r.item_type].complete(conn, r, now)
                    conn.execute(
                        reward_redemptions.update()
                        .where(reward_redemptions.c.id == r.id)
                        .values(fulfilment={**(r.fulfilment or {}), **summary})
                    )
                else:
                    _restock(conn, r.item_id)
        return self._load(r.id)

    def settle(self, *, limit: int = SETTLE_BATCH_MAX) -> int:
        """Finish what crashes or deadlines left open: requested rows, expired holds,
        unconfirmed mints. Returns how many rows were looked at. Run by ``azora rewards
        settle`` (and safe to run from many processes at once)."""
        now = self.clock()
        with self.engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(reward_redemptions.c.id)
                    .where(
                        or_(
                            reward_redemptions.c.status == RedemptionStatus.REQUESTED.value,
                            reward_redemptions.c.status == RedemptionStatus.MINTING.value,
                            and_(
                                reward_redemptions.c.status.in_([s.value for s in OPEN]),
                                or_(
                                    reward_redemptions.c.expires_at <= now,
                                    reward_redemptions.c.intent.is_not(None),
                                ),
                            ),
                        )
                    )
                    .order_by(reward_redemptions.c.updated_at)
                    .limit(min(limit, SETTLE_BATCH_MAX))
                ).scalars()
            )
        for redemption_id in ids:
            try:
                r = self.settle_one(redemption_id)
                if r.status is RedemptionStatus.MINTING:
                    self._settle_mint(r)
                elif r.status is RedemptionStatus.HELD and r.intent is None:
                    self.process(r.id)
            except LedgerError as error:
                log.warning("settling redemption %s: %s", redemption_id, error.detail)
            except MintPending as error:
                log.warning("settling redemption %s: %s", redemption_id, error)
        return len(ids)

    # --- reading -------------------------------------------------------------------------

    def get(self, user_id: str, redemption_id: str) -> Redemption:
        r = self._find(redemption_id)
        if r is None or r.user_id != user_id:
            raise RedemptionNotFound(f"no redemption {redemption_id!r} for user {user_id!r}")
        return r

    def list_for_user(
        self, user_id: str, *, before: str | None = None, limit: int = 100
    ) -> list[Redemption]:
        """Newest first; ``before`` is the id of the last one of the previous page."""
        check_user_id(user_id)
        limit = max(1, min(limit, PAGE_MAX))
        stmt = select(reward_redemptions).where(reward_redemptions.c.user_id == user_id)
        if before is not None:
            anchor = self.get(user_id, before)
            stmt = stmt.where(
                or_(
                    reward_redemptions.c.created_at < anchor.created_at,
                    and_(
                        reward_redemptions.c.created_at == anchor.created_at,
                        reward_redemptions.c.id < anchor.id,
                    ),
                )
            )
        stmt = stmt.order_by(
            reward_redemptions.c.created_at.desc(), reward_redemptions.c.id.desc()
        ).limit(limit)
        with self.engine.connect() as conn:
            found = [_redemption(r) for r in conn.execute(stmt)]
        # Deadlines passed since: show them as they are (expired), not as they were.
        now = self.clock()
        return [
            self.settle_one(r.id) if r.status in OPEN and r.expires_at <= now else r for r in found
        ]

    def entitlements(self, user_id: str, *, at: datetime | None = None) -> list[Entitlement]:
        """The user's unlocks still valid at ``at`` (default now): what other modules read."""
        at = at or self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reward_entitlements)
                .where(
                    reward_entitlements.c.user_id == check_user_id(user_id),
                    or_(reward_entitlements.c.until.is_(None), reward_entitlements.c.until > at),
                )
                .order_by(reward_entitlements.c.created_at)
                .limit(PAGE_MAX)
            )
            return [
                Entitlement(
                    r.redemption_id, r.user_id, r.item_id, ItemType(r.type), r.until, r.created_at
                )
                for r in rows
            ]

    # --- plumbing ------------------------------------------------------------------------

    def _write(self) -> Any:
        return _WriteTxn(self.engine)

    def _update(self, redemption_id: str, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(
                reward_redemptions.update()
                .where(reward_redemptions.c.id == redemption_id)
                .values(updated_at=self.clock(), **values)
            )

    def _find(self, redemption_id: str) -> Redemption | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(reward_redemptions).where(reward_redemptions.c.id == redemption_id)
            ).first()
        return None if row is None else _redemption(row)

    def _load(self, redemption_id: str) -> Redemption:
        r = self._find(redemption_id)
        if r is None:
            raise RedemptionNotFound(f"no redemption {redemption_id!r}")
        return r

    def _by_request(self, user_id: str, request_key: str) -> Redemption | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(reward_redemptions).where(
                    reward_redemptions.c.user_id == user_id,
                    reward_redemptions.c.request_key == request_key,
                )
            ).first()
        return None if row is None else _redemption(row)


class _WriteTxn:
    """``with _WriteTxn(engine) as conn``: one write transaction, committed on success."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        self.conn = self.engine.connect().execution_options(**WRITE_TXN)
        self.txn = self.conn.begin()
        return self.conn

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        try:
            if exc_type is None:
                self.txn.commit()
            else:
                self.txn.rollback()
        finally:
            self.conn.close()


def _opt_dict(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value else None


def _restock(conn: Connection, item_id: str) -> None:
    conn.execute(
        reward_catalog.update()
        .where(reward_catalog.c.id == item_id, reward_catalog.c.stock.is_not(None))
        .values(stock=reward_catalog.c.stock + 1)
    )


def _item(row: Any) -> CatalogItem:
    return CatalogItem(
        row.id, row.name, ItemType(row.type), row.price, row.stock, row.active, dict(row.metadata)
    )


def _redemption(row: Any) -> Redemption:
    return Redemption(
        id=row.id,
        user_id=row.user_id,
        item_id=row.item_id,
        item_type=ItemType(row.item_type),
        price=row.price,
        status=RedemptionStatus(row.status),
        request_key=row.request_key,
        hold_key=row.hold_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        hold_entry_id=row.hold_entry_id,
        shipping_address=row.shipping_address,
        eth_address=row.eth_address,
        tx_hash=row.tx_hash,
        intent=RedemptionStatus(row.intent) if row.intent else None,
        reason=row.reason,
        fulfilment=row.fulfilment,
        mint_state=MintState(row.mint_state) if row.mint_state else None,
        mint=None
        if row.mint_raw is None
        else SignedMint(
            int(row.mint_chain_id),
            row.mint_signer,
            int(row.mint_nonce),
            bytes(row.mint_raw),
            row.tx_hash,
        ),
    )


__all__ = ["HOLD_PRINCIPAL", "NotFound", "Redemptions"]
