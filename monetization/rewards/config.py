"""What the rewards domain is configured with (built from the one settings object by the
composition root: ``AZORA_REWARDS_*``)."""

from __future__ import annotations

from dataclasses import dataclass

AZR_UNIT = 10**18


@dataclass(frozen=True, slots=True)
class RewardsConfig:
    # Gifts between users (reward.transferred): off unless switched on.
    gifts_enabled: bool = False
    # Most a user may give away per UTC day, in smallest AZR units.
    gift_daily_limit_units: int = 100 * AZR_UNIT
    # How long a redemption's hold reserves the tokens before it expires.
    hold_ttl_s: int = 3600
    # Merchandise waits for an admin: a longer hold.
    merchandise_hold_ttl_s: int = 14 * 86400
    # A withdrawal waits for chain confirmations: long enough to outlive an RPC outage.
    withdrawal_hold_ttl_s: int = 86400
    # Most journal entries one leaderboard read will project before answering.
    read_catch_up_max: int = 50_000

    def __post_init__(self) -> None:
        assert self.gift_daily_limit_units >= 0
        assert self.hold_ttl_s >= 60 and self.merchandise_hold_ttl_s >= 60
        assert self.withdrawal_hold_ttl_s >= 60 and self.read_catch_up_max >= 1
