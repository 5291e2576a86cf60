"""Fulfilment: one small interface per redemption type.

A :class:`Fulfiller` validates a request for its item type and says what finishing it
means. The workflow (``redemptions.py``, ``settling.py``) owns the money side: it posts the
hold once the fulfiller succeeds, and voids it when the fulfiller fails.

* feature unlock / course content: record an entitlement (user, item, until) that the
  subscription and marketplace modules read; automatic.
* merchandise: needs a shipping address; an admin fulfils or rejects it later.
* on-chain withdrawal: needs an Ethereum address; mints ERC-20 AZR through a
  :class:`Minter` (a port: the chain adapter is ``chain.minting.ChainMinter``); the hold is
  posted only once the mint is confirmed. The minter signs without sending, so the workflow
  can record the signed transaction before it is broadcast, and can later ask what became
  of it (:meth:`Minter.inspect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from monetization.rewards.errors import InvalidRedemption
from monetization.rewards.model import (
    ETH_ADDRESS_RE,
    CatalogItem,
    ItemType,
    MintState,
    Redemption,
    SignedMint,
)
from monetization.rewards.tables import reward_entitlements

SHIPPING_FIELDS = ("name", "line1", "city", "postal_code", "country")
SHIPPING_FIELD_MAX_CHARS = 200


class Fulfiller(Protocol):
    @property
    def automatic(self) -> bool:
        """Fulfilled right after the hold, without an admin."""

    @property
    def synchronous(self) -> bool:
        """Fulfilled within the request that asks for it (no chain to wait for): the
        answer already shows the final state. Other automatic types settle after it."""

    def validate(
        self, item: CatalogItem, shipping_address: Mapping[str, Any] | None, eth_address: str | None
    ) -> None:
        """Raise :class:`InvalidRedemption` if the request lacks what this type needs."""

    def complete(self, conn: Connection, redemption: Redemption, now: datetime) -> dict[str, Any]:
        """Record the fulfilment in the caller's transaction (idempotent); its summary."""


@dataclass(frozen=True)
class EntitlementFulfiller:
    """Feature unlocks (``metadata.days`` of access, or forever) and course content."""

    item_type: ItemType
    automatic: bool = True
    synchronous: bool = True

    def validate(
        self, item: CatalogItem, shipping_address: Mapping[str, Any] | None, eth_address: str | None
    ) -> None:
        _no_extras(item, shipping_address=shipping_address, eth_address=eth_address)

    def complete(self, conn: Connection, redemption: Redemption, now: datetime) -> dict[str, Any]:
        days = redemption.fulfilment.get("days") if redemption.fulfilment else None
        until = now + timedelta(days=days) if isinstance(days, int) else None
        try:
            with conn.begin_nested():
                conn.execute(
                    reward_entitlements.insert().values(
                        redemption_id=redemption.id,
                        user_id=redemption.user_id,
                        item_id=redemption.item_id,
                        type=redemption.item_type.value,
                        until=until,
                        created_at=now,
                    )
                )
        except IntegrityError:
            pass  # recorded by an earlier attempt: one entitlement per redemption
        return {"entitlement": {"until": until.isoformat() if until else None}}


@dataclass(frozen=True)
class MerchandiseFulfiller:
    automatic: bool = False
    synchronous: bool = False

    def validate(
        self, item: CatalogItem, shipping_address: Mapping[str, Any] | None, eth_address: str | None
    ) -> None:
        if eth_address is not None:
            raise InvalidRedemption("merchandise takes a shipping_address, not an eth_address")
        if not isinstance(shipping_address, Mapping):
            raise InvalidRedemption(
                f"merchandise needs a shipping_address with {', '.join(SHIPPING_FIELDS)}"
            )
        missing = [f for f in SHIPPING_FIELDS if not _text(shipping_address.get(f))]
        if missing:
            raise InvalidRedemption(f"shipping_address lacks {', '.join(missing)}")
        extra = set(shipping_address) - {*SHIPPING_FIELDS, "line2", "region", "phone"}
        if extra:
            raise InvalidRedemption(f"shipping_address has unknown fields {sorted(extra)}")
        if not all(_text(v) for v in shipping_address.values()):
            raise InvalidRedemption(
                f"shipping_address fields are strings of 1-{SHIPPING_FIELD_MAX_CHARS} characters"
            )

    def complete(self, conn: Connection, redemption: Redemption, now: datetime) -> dict[str, Any]:
        return {"shipped_at": now.isoformat()}


@dataclass(frozen=True)
class MintReceipt:
    tx_hash: str
    block_number: int


class MintError(Exception):
    """Root of what a :class:`Minter` may raise on purpose. Anything else is a bug: it
    propagates, and leaves the redemption (and the user's hold) as it was."""


class MintFailed(MintError):
    """The mint did not happen (refused, reverted): the hold must be voided."""


class MintPending(MintError):
    """No confirmation yet (timeout, RPC outage): ask again later, the hold stays."""


@dataclass(frozen=True)
class MintStatus:
    """What the chain says of a recorded mint, in the states of :class:`MintState` (the
    chain-write saga's words): the state to record, and whether to send the same bytes
    again (not mined, its nonce still free)."""

    state: MintState
    resend: bool = False
    detail: str = ""


class Minter(Protocol):
    """The port through which withdrawals reach a chain (the adapter: ``chain.minting``)."""

    def sign_mint(self, to: str, amount: int) -> SignedMint:
        """Sign the mint (after simulating it) without sending it. MintFailed if it would
        fail or cannot be signed: nothing was sent."""

    def broadcast(self, signed: SignedMint) -> None:
        """Send the signed bytes (again: the same bytes are the same transaction).
        MintPending if the node did not take them."""

    def discard(self, signed: SignedMint) -> None:
        """``signed`` will never be sent: give its nonce back, leaving no gap."""

    def wait_mint(self, tx_hash: str) -> MintReceipt:
        """The confirmed mint; MintFailed if it reverted, MintPending if not yet known."""

    def inspect(self, signed: SignedMint) -> MintStatus:
        """What became of ``signed``, without waiting. MintPending if the chain cannot say."""

    def total_supply(self) -> int: ...


@dataclass(frozen=True)
class WithdrawalFulfiller:
    automatic: bool = True
    synchronous: bool = False  # the mint waits for the chain: settled after the answer

    def validate(
        self, item: CatalogItem, shipping_address: Mapping[str, Any] | None, eth_address: str | None
    ) -> None:
        if shipping_address is not None:
            raise InvalidRedemption("a withdrawal takes an eth_address, not a shipping_address")
        if not isinstance(eth_address, str) or not ETH_ADDRESS_RE.fullmatch(eth_address):
            raise InvalidRedemption("a withdrawal needs eth_address: 0x and 40 hex digits")
        if int(eth_address, 16) == 0:
            raise InvalidRedemption("eth_address must not be the zero address")

    def complete(self, conn: Connection, redemption: Redemption, now: datetime) -> dict[str, Any]:
        return {"tx_hash": redemption.tx_hash}


FULFILLERS: dict[ItemType, Fulfiller] = {
    ItemType.FEATURE_UNLOCK: EntitlementFulfiller(ItemType.FEATURE_UNLOCK),
    ItemType.COURSE_CONTENT: EntitlementFulfiller(ItemType.COURSE_CONTENT),
    ItemType.MERCHANDISE: MerchandiseFulfiller(),
    ItemType.ONCHAIN_WITHDRAWAL: WithdrawalFulfiller(),
}


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= SHIPPING_FIELD_MAX_CHARS


def _no_extras(item: CatalogItem, *, shipping_address: object, eth_address: object) -> None:
    if shipping_address is not None or eth_address is not None:
        raise InvalidRedemption(
            f"a {item.type.value} redemption takes neither shipping_address nor eth_address"
        )
