"""The one configuration object: environment variables prefixed ``AZORA_``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(".azora")
MIB = 1024 * 1024


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class InsecureConfiguration(ValueError):
    """Production was asked for with a development default still in place."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AZORA_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = f"sqlite:///{DATA_DIR}/ledger.db"
    chain_rpc_url: str = "http://127.0.0.1:8545"
    token_address: str | None = None
    # Read by chain.keys.load_account (a 0x key or a key file); declared here so production
    # can refuse to start without it.
    anchor_private_key: str | None = Field(default=None, repr=False)
    anchor_interval_s: float = Field(default=60.0, gt=0)
    # Anchors count as confirmed after this many blocks, or, with "finalized", once the
    # chain's finalized block passes them (public testnets).
    anchor_confirmations: int = Field(default=1, ge=1, le=64)
    anchor_finality: Literal["confirmations", "finalized"] = "confirmations"
    # "off": no local chain is started, no token deployed, no anchoring worker runs
    # (the ledger API alone; proofs answer not-anchored).
    anchoring: bool = True
    admin_api_key: str | None = Field(default=None, repr=False)
    jwt_secret: str | None = Field(default=None, repr=False)
    # HTTP layer: per principal and per process, generous so benchmarks are not throttled.
    rate_limit_per_s: float = Field(default=20_000.0, gt=0)
    rate_limit_burst: int = Field(default=40_000, ge=1)
    # A batch of 1,000 entries with a few postings each is about 400 KiB.
    max_body_bytes: int = Field(default=4 * MIB, ge=1024)
    user_token_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    # How long a verified API key is trusted before it is read again (revocation delay in
    # the *other* processes; the process that revokes forgets it at once).
    key_cache_ttl_s: float = Field(default=2.0, ge=0)
    access_log: bool = False  # the HTTP server's line per request (costs throughput)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # HTTP worker processes; unset: one per CPU (each has its own group-commit writer).
    workers: int | None = Field(default=None, ge=1, le=64)
    data_dir: Path = DATA_DIR

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("AZORA_JWT_SECRET", self.jwt_secret),
                    ("AZORA_ANCHOR_PRIVATE_KEY", self.anchor_private_key),
                )
                if not value
            ]
            if missing:
                raise InsecureConfiguration(
                    f"AZORA_ENV=production refuses to start without {', '.join(missing)}"
                )
            if self.database_url.startswith("sqlite"):
                raise InsecureConfiguration(
                    "AZORA_ENV=production needs AZORA_DATABASE_URL to name PostgreSQL"
                )
        return self
