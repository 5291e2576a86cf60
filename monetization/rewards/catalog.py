"""The redemption catalog: items, their prices and their stock (admin-edited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from ledger import AZR, IdempotencyConflict
from ledger.money import check_units
from monetization.rewards.errors import InvalidRedemption, UnknownItem
from monetization.rewards.model import ITEM_ID_RE, CatalogItem
from monetization.rewards.redemption_rows import WriteTxn, item_of
from monetization.rewards.tables import reward_catalog

CATALOG_MAX = 1000
NAME_MAX_CHARS = 200


class Catalog:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

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
            with WriteTxn(self.engine) as conn:
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
        with WriteTxn(self.engine) as conn:
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
        return item_of(row)

    def items(self, *, include_inactive: bool = False) -> list[CatalogItem]:
        stmt = select(reward_catalog).order_by(reward_catalog.c.id).limit(CATALOG_MAX)
        if not include_inactive:
            stmt = stmt.where(reward_catalog.c.active.is_(True))
        with self.engine.connect() as conn:
            return [item_of(r) for r in conn.execute(stmt)]
