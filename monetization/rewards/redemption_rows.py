"""The redemption rows: every read and write of ``reward_redemptions`` and the row mapping.

Each status change is a conditional UPDATE from the source status along
:data:`~monetization.rewards.states.TRANSITIONS` (:meth:`RedemptionRows.move`), so of two
processes racing to move one row exactly one wins; the database refuses any move the
table lacks (migration ``0060_rewards_states``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select

from ledger.store.engine import WRITE_TXN
from monetization.rewards.errors import OutOfStock, RedemptionNotFound
from monetization.rewards.model import (
    CatalogItem,
    Entitlement,
    ItemType,
    MintState,
    Redemption,
    SignedMint,
)
from monetization.rewards.states import (
    CLAIM_MOVES_WITHDRAWAL_TO,
    CLAIMABLE,
    INITIAL,
    OPEN,
    RedemptionStatus,
    can_move,
)
from monetization.rewards.tables import reward_catalog, reward_entitlements, reward_redemptions

PAGE_MAX = 500
SETTLE_BATCH_MAX = 500
REASON_MAX_CHARS = 500

Clock = Callable[[], datetime]
_c = reward_redemptions.c


class RedemptionRows:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def write(self) -> WriteTxn:
        return WriteTxn(self.engine)

    # --- reading -------------------------------------------------------------------------

    def find(self, redemption_id: str) -> Redemption | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(reward_redemptions).where(_c.id == redemption_id)).first()
        return None if row is None else redemption_of(row)

    def load(self, redemption_id: str) -> Redemption:
        r = self.find(redemption_id)
        if r is None:
            raise RedemptionNotFound(f"no redemption {redemption_id!r}")
        return r

    def by_request(self, user_id: str, request_key: str) -> Redemption | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(reward_redemptions).where(
                    _c.user_id == user_id, _c.request_key == request_key
                )
            ).first()
        return None if row is None else redemption_of(row)

    def page(self, user_id: str, before: Redemption | None, limit: int) -> list[Redemption]:
        """Newest first, after ``before`` (the last one of the previous page)."""
        stmt = select(reward_redemptions).where(_c.user_id == user_id)
        if before is not None:
            stmt = stmt.where(
                or_(
                    _c.created_at < before.created_at,
                    and_(_c.created_at == before.created_at, _c.id < before.id),
                )
            )
        stmt = stmt.order_by(_c.created_at.desc(), _c.id.desc()).limit(min(limit, PAGE_MAX))
        with self.engine.connect() as conn:
            return [redemption_of(r) for r in conn.execute(stmt)]

    def to_settle(self, now: datetime, limit: int) -> list[str]:
        """Rows that crashes or deadlines may have left behind, least recently moved first."""
        open_ = [s.value for s in OPEN]
        stmt = (
            select(_c.id)
            .where(
                or_(
                    _c.status == RedemptionStatus.REQUESTED.value,
                    _c.status == RedemptionStatus.MINTING.value,
                    and_(
                        _c.status.in_(open_),
                        or_(_c.expires_at <= now, _c.intent.is_not(None)),
                    ),
                )
            )
            .order_by(_c.updated_at)
            .limit(min(limit, SETTLE_BATCH_MAX))
        )
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).scalars())

    def entitlements(self, user_id: str, at: datetime) -> list[Entitlement]:
        e = reward_entitlements.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reward_entitlements)
                .where(e.user_id == user_id, or_(e.until.is_(None), e.until > at))
                .order_by(e.created_at)
                .limit(PAGE_MAX)
            )
            return [
                Entitlement(
                    r.redemption_id, r.user_id, r.item_id, ItemType(r.type), r.until, r.created_at
                )
                for r in rows
            ]

    # --- writing -------------------------------------------------------------------------

    def insert(
        self,
        user_id: str,
        item: CatalogItem,
        request_key: str,
        *,
        ttl_s: int,
        shipping_address: Mapping[str, Any] | None,
        eth_address: str | None,
    ) -> Redemption:
        """Write a new ``requested`` row, taking one unit of stock in the same transaction
        (OutOfStock if none is left; nothing written then)."""
        now = self.clock()
        redemption_id = str(uuid.uuid4())
        with self.write() as conn:
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
                    status=INITIAL.value,
                    request_key=request_key,
                    hold_key=f"redemption:{redemption_id}",
                    shipping_address=dict(shipping_address) if shipping_address else None,
                    eth_address=eth_address.lower() if eth_address else None,
                    fulfilment={"days": item.unlock_days} if item.unlock_days else None,
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(seconds=ttl_s),
                )
            )
        return self.load(redemption_id)

    def forget(self, redemption_id: str) -> None:
        """Undo a refused request: the row goes, the stock comes back (nothing was held)."""
        requested = RedemptionStatus.REQUESTED.value
        with self.write() as conn:
            row = conn.execute(
                select(_c.item_id).where(_c.id == redemption_id, _c.status == requested)
            ).first()
            if row is None:
                return
            conn.execute(
                reward_redemptions.delete().where(_c.id == redemption_id, _c.status == requested)
            )
            restock(conn, row.item_id)

    def move(
        self,
        conn: Connection,
        r: Redemption,
        target: RedemptionStatus,
        *where: Any,
        **values: Any,
    ) -> bool:
        """Move ``r`` from the status it was read in to ``target`` (a transition of the
        table), in ``conn``'s transaction; False if the row moved meanwhile."""
        assert can_move(r.status, target), (r.status, target)
        moved = conn.execute(
            reward_redemptions.update()
            .where(_c.id == r.id, _c.status == r.status.value, *where)
            .values(status=target.value, updated_at=self.clock(), **values)
        ).rowcount
        return bool(moved == 1)

    def claim(self, r: Redemption, intent: RedemptionStatus, reason: str | None) -> bool:
        """Record what will end held ``r``: of fulfil / cancel / reject only one wins. A
        withdrawal's fulfilment moves it to minting in the same UPDATE."""
        values: dict[str, Any] = {"intent": intent.value, "updated_at": self.clock()}
        if reason is not None:
            values["reason"] = reason
        if intent is RedemptionStatus.FULFILLED and r.item_type is ItemType.ONCHAIN_WITHDRAWAL:
            assert can_move(CLAIMABLE, CLAIM_MOVES_WITHDRAWAL_TO)
            values["status"] = CLAIM_MOVES_WITHDRAWAL_TO.value
        with self.write() as conn:
            won = conn.execute(
                reward_redemptions.update()
                .where(_c.id == r.id, _c.status == CLAIMABLE.value, _c.intent.is_(None))
                .values(**values)
            ).rowcount
        return bool(won == 1)

    def abandon_unsigned(self, redemption_id: str, reason: str) -> bool:
        """Turn a claimed withdrawal that recorded no mint into a failure (its hold is to
        be voided); False if a mint got recorded first."""
        with self.write() as conn:
            won = conn.execute(
                reward_redemptions.update()
                .where(
                    _c.id == redemption_id,
                    _c.status == RedemptionStatus.MINTING.value,
                    _c.intent == RedemptionStatus.FULFILLED.value,
                    _c.tx_hash.is_(None),
                )
                .values(
                    intent=RedemptionStatus.FAILED.value,
                    reason=reason[:REASON_MAX_CHARS],
                    updated_at=self.clock(),
                )
            ).rowcount
        return bool(won == 1)

    def record_mint(self, redemption_id: str, signed: SignedMint) -> bool:
        """Store the signed mint with its row, unless the row was abandoned or has one."""
        with self.write() as conn:
            won = conn.execute(
                reward_redemptions.update()
                .where(
                    _c.id == redemption_id,
                    _c.status == RedemptionStatus.MINTING.value,
                    _c.intent == RedemptionStatus.FULFILLED.value,
                    _c.tx_hash.is_(None),
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
        return bool(won == 1)

    def set_mint_state(self, redemption_id: str, state: MintState) -> None:
        """Record the chain's word on an in-flight mint (a settled one stays as it is)."""
        in_flight = [MintState.SIGNED.value, MintState.SUBMITTED.value]
        with self.write() as conn:
            conn.execute(
                reward_redemptions.update()
                .where(_c.id == redemption_id, _c.mint_state.in_(in_flight))
                .values(mint_state=state.value, updated_at=self.clock())
            )

    def note(self, redemption_id: str, **values: Any) -> None:
        """Change fields other than the status (intent, reason, mint state)."""
        assert "status" not in values, values
        with self.write() as conn:
            conn.execute(
                reward_redemptions.update()
                .where(_c.id == redemption_id)
                .values(updated_at=self.clock(), **values)
            )


class WriteTxn:
    """``with WriteTxn(engine) as conn``: one write transaction, committed on success."""

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


def restock(conn: Connection, item_id: str) -> None:
    conn.execute(
        reward_catalog.update()
        .where(reward_catalog.c.id == item_id, reward_catalog.c.stock.is_not(None))
        .values(stock=reward_catalog.c.stock + 1)
    )


def item_of(row: Any) -> CatalogItem:
    return CatalogItem(
        row.id, row.name, ItemType(row.type), row.price, row.stock, row.active, dict(row.metadata)
    )


def redemption_of(row: Any) -> Redemption:
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
