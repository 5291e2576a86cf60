"""Settings of the HTTP layer only: limits and token lifetimes.

They read the same ``AZORA_`` environment as :class:`azora.settings.Settings`; they live
here, beside it (the README lists every variable).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AZORA_", extra="ignore")

    # Per principal and per process: generous, so benchmarks are not throttled.
    rate_limit_per_s: float = Field(default=20_000.0, gt=0)
    rate_limit_burst: int = Field(default=40_000, ge=1)
    # A batch of 1,000 entries with a few postings each is about 400 KiB.
    max_body_bytes: int = Field(default=4 * MIB, ge=1024)
    user_token_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    # How long a verified API key is trusted before it is read again (revocation delay
    # in the *other* processes; the process that revokes forgets it at once).
    key_cache_ttl_s: float = Field(default=2.0, ge=0)
