"""``azora reconcile``: the token's on-chain totalSupply against the ledger.

Every AZR that left for the chain was posted to ``platform:azr:withdrawn`` only after its
mint confirmed, so the two must be equal. Withdrawals still minting are reported: while
one is in flight the supply may briefly run ahead of the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from ledger import Ledger, NotFound
from monetization.rewards.fulfilment import Minter
from monetization.rewards.model import WITHDRAWN
from monetization.rewards.states import RedemptionStatus
from monetization.rewards.tables import reward_redemptions


@dataclass(frozen=True, slots=True)
class Reconciliation:
    total_supply: int
    withdrawn: int
    minting: int  # withdrawals sent to the chain, not yet settled

    @property
    def ok(self) -> bool:
        return self.total_supply == self.withdrawn


def reconcile(book: Ledger, minter: Minter) -> Reconciliation:
    try:
        withdrawn = book.balance(WITHDRAWN).balance
    except NotFound:
        withdrawn = 0
    return Reconciliation(minter.total_supply(), withdrawn, _minting(book.engine))


def _minting(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(reward_redemptions)
                .where(reward_redemptions.c.status == RedemptionStatus.MINTING.value)
            ).scalar_one()
        )
