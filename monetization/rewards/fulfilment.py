"""Fulfilment: one small interface per redemption type.

A :class:`Fulfiller` validates a request for its item type and says what finishing it
means. The workflow (``redemptions.py``) owns the money side: it posts the hold once the
fulfiller succeeds, and voids it when the fulfiller fails.

* feature unlock / course content: record an entitlement (user, item, until) that the
  subscription and marketplace modules read; automatic.
* merchandise: needs a shipping address; an admin fulfils or rejects it later.
* on-chain withdrawal: needs an Ethereum address; mints ERC-20 AZR through a
  :class:`Minter`; the hold is posted only once the mint is confirmed. The minter signs
  without sending, so the workflow can record the signed transaction before it is
  broadcast, and can later ask what became of it (:meth:`Minter.inspect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from monetization.rewards.errors import InvalidRedemption
from monetization.rewards.model import (
    ETH_ADDRESS_RE,
    CatalogItem,
    ItemType,
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


class MintFailed(Exception):
    """The mint did not happen (refused, reverted): the hold must be voided."""


class MintPending(Exception):
    """No confirmation yet (timeout, RPC outage): ask again later, the hold stays."""


class MintCheck(StrEnum):
    """What became of a recorded mint transaction, as the chain says now."""

    MINED = "mined"  # mined, succeeded, as deep as the settings ask
    SHALLOW = "shallow"  # mined, not deep enough yet: ask again later
    REVERTED = "reverted"  # mined and failed: nothing minted
    DROPPED = "dropped"  # not mined, and its nonce is used by a mined transaction: never
    UNMINED = "unmined"  # not mined, nonce still free: send the same bytes again


@dataclass(frozen=True)
class MintStatus:
    check: MintCheck
    detail: str = ""


class Minter(Protocol):
    def sign_mint(self, to: str, amount: int) -> SignedMint:
        """Sign the mint (after simulating it) without sending it. MintFailed if it would
        fail or cannot be signed: nothing was sent."""

    def broadcast(self, signed: SignedMint) -> None:
        """Send the signed bytes (again: the same bytes are the same transaction).
        MintPending if the node did not take them."""

    def discard(self, signed: SignedMint) -> None:
        """``signed`` will never be sent: do not leave a gap in the signer's nonces."""

    def wait_mint(self, tx_hash: str) -> MintReceipt:
        """The confirmed mint; MintFailed if it reverted, MintPending if not yet known."""

    def inspect(self, signed: SignedMint) -> MintStatus:
        """What became of ``signed``, without waiting. MintPending if the chain cannot say."""

    def total_supply(self) -> int: ...


@dataclass(frozen=True)
class WithdrawalFulfiller:
    automatic: bool = True

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


class ChainMinter:
    """A :class:`Minter` over the chain adapter's :class:`chain.AzoraToken`."""

    def __init__(self, token: Any) -> None:
        self.token = token

    def sign_mint(self, to: str, amount: int) -> SignedMint:
        from eth_utils.address import to_checksum_address

        from chain.errors import ChainError

        try:
            sender = self.token.sender
            signed = self.token.sign("mint", to_checksum_address(to), amount)
            return SignedMint(
                int(sender.chain_id()),
                str(sender.address),
                int(signed.nonce),
                bytes(signed.raw),
                str(signed.tx_hash),
            )
        except ChainError as error:
            raise MintFailed(f"mint refused: {error}") from error

    def broadcast(self, signed: SignedMint) -> None:
        from chain.sender import SignedTx

        try:
            self.token.sender.broadcast(SignedTx(signed.nonce, signed.raw, signed.tx_hash))
        except Exception as error:  # ChainError, or a node's own exception type: recorded
            # either way, so what became of it is for inspect() to say, not this call.
            raise MintPending(f"mint {signed.tx_hash} not sent: {error}") from error

    def discard(self, signed: SignedMint) -> None:
        # The sender reserved this nonce in-process; a fresh sender numbers from the node's
        # pending count again, so the next mint does not wait behind a nonce never sent.
        # (chain/ has no public "release this nonce" yet.)
        from chain.sender import TransactionSender

        old = self.token.sender
        self.token.sender = TransactionSender(old.w3, old.account, old.settings)

    def wait_mint(self, tx_hash: str) -> MintReceipt:
        from chain.errors import ChainError, TransactionReverted, TransactionTimeout

        try:
            result = self.token.wait(tx_hash, "mint")
        except TransactionReverted as error:
            raise MintFailed(f"mint reverted: {error}") from error
        except TransactionTimeout as error:
            raise MintPending(str(error)) from error
        except ChainError as error:
            raise MintPending(f"cannot read the mint's receipt: {error}") from error
        return MintReceipt(result.tx_hash, result.block_number)

    def inspect(self, signed: SignedMint) -> MintStatus:
        from chain.errors import ChainError
        from chain.retry import call_with_retry

        sender = self.token.sender
        w3 = self.token.w3
        try:
            if int(sender.chain_id()) != signed.chain_id:
                raise MintPending(
                    f"mint {signed.tx_hash} was signed for chain {signed.chain_id}, "
                    f"the node serves chain {sender.chain_id()}"
                )
            # The nonce first, the receipt second: read the other way round, a mint mined
            # in between would look dropped.
            if signed.signer.lower() == str(sender.address).lower():
                mined_nonces = int(sender.confirmed_nonce())
            else:  # the configured key changed since: ask about the one that signed
                mined_nonces = int(
                    call_with_retry(
                        lambda: w3.eth.get_transaction_count(signed.signer, "latest"),
                        sender.settings.retry,
                        "eth_getTransactionCount",
                    )
                )
            receipt = sender.receipt(signed.tx_hash)
            if receipt is None:
                if signed.nonce < mined_nonces:
                    return MintStatus(
                        MintCheck.DROPPED,
                        f"nonce {signed.nonce} of {signed.signer} was used by another "
                        f"transaction: mint {signed.tx_hash} can never be mined",
                    )
                return MintStatus(MintCheck.UNMINED)
            block = int(receipt["blockNumber"])
            head = int(call_with_retry(lambda: w3.eth.block_number, sender.settings.retry, "head"))
            if head - block + 1 < sender.settings.confirmations:
                return MintStatus(MintCheck.SHALLOW, f"mined in block {block}")
            if receipt["status"] != 1:
                try:
                    self.token.wait(signed.tx_hash, "mint")  # names the revert reason
                except ChainError as error:
                    return MintStatus(MintCheck.REVERTED, f"mint reverted: {error}")
                return MintStatus(MintCheck.REVERTED, f"mint reverted in block {block}")
            return MintStatus(MintCheck.MINED, f"mined in block {block}")
        except ChainError as error:
            raise MintPending(f"cannot read mint {signed.tx_hash}: {error}") from error

    def total_supply(self) -> int:
        return int(self.token.total_supply())
