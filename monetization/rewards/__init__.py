"""Token rewards: earning rules with daily caps, spends, gifts, corrections, leaderboards
and the redemption workflow (with on-chain withdrawals). Every token movement goes
through :class:`ledger.Ledger`; see ``README.md`` here for the HTTP side.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger import Ledger
from monetization.rewards.accounts import AccountOpener
from monetization.rewards.config import RewardsConfig
from monetization.rewards.earning import Earning, Earnings, HistoryItem, utcnow
from monetization.rewards.leaderboard import Leaderboards
from monetization.rewards.model import (
    Board,
    CatalogItem,
    EarningRule,
    Entitlement,
    ItemType,
    Ranked,
    Redemption,
    Window,
)
from monetization.rewards.projection import Projector
from monetization.rewards.redemptions import MinterFactory, Redemptions
from monetization.rewards.social import Friendship, Social
from monetization.rewards.states import RedemptionStatus


class Rewards:
    """The rewards domain over one ledger: ``earnings``, ``redemptions``, ``leaderboards``,
    ``social``. ``minter`` builds the chain adapter on the first withdrawal (None: no chain,
    withdrawals fail and return the tokens)."""

    def __init__(
        self,
        book: Ledger,
        *,
        settings: RewardsConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        minter: MinterFactory | None = None,
    ) -> None:
        self.book = book
        self.settings = settings or RewardsConfig()
        self.clock = clock
        accounts = AccountOpener(book)
        self.earnings = Earnings(book, accounts, self.settings, clock)
        self.redemptions = Redemptions(book, accounts, self.settings, clock, minter)
        self.leaderboards = Leaderboards(
            book.engine, clock, read_catch_up_max=self.settings.read_catch_up_max
        )
        self.social = Social(book.engine, clock)

    @property
    def projector(self) -> Projector:
        return self.leaderboards.projector


__all__ = [
    "Board",
    "CatalogItem",
    "Earning",
    "EarningRule",
    "Entitlement",
    "Friendship",
    "HistoryItem",
    "ItemType",
    "Ranked",
    "Redemption",
    "RedemptionStatus",
    "Rewards",
    "RewardsConfig",
    "Window",
]
