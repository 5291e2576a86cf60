"""Rewards configuration: environment variables prefixed ``AZORA_REWARDS_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

AZR_UNIT = 10**18


class RewardsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AZORA_REWARDS_", extra="ignore")

    # Gifts between users (reward.transferred): off unless switched on.
    gifts_enabled: bool = False
    # Most a user may give away per UTC day, in smallest AZR units (default 100 AZR).
    gift_daily_limit_units: int = Field(default=100 * AZR_UNIT, ge=0)
    # How long a redemption's hold reserves the tokens before it expires.
    hold_ttl_s: int = Field(default=3600, ge=60, le=30 * 86400)
    # Merchandise waits for an admin: a longer hold.
    merchandise_hold_ttl_s: int = Field(default=14 * 86400, ge=60, le=60 * 86400)
    # A withdrawal waits for chain confirmations: long enough to outlive an RPC outage.
    withdrawal_hold_ttl_s: int = Field(default=86400, ge=60, le=30 * 86400)
    # Most journal entries one leaderboard read will project before answering.
    read_catch_up_max: int = Field(default=50_000, ge=1)
