"""The one configuration object: environment variables prefixed ``AZORA_``.

Only the composition root (:mod:`azora.bootstrap`) and the command line read it; every
module below ``azora/`` receives the values it needs. :mod:`azora.production`
is the production guard: it names what is wrong and never echoes a secret.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.tlog.note import check_key_name

DATA_DIR = Path(".azora")
MIB = 1024 * 1024
AZR_UNIT = 10**18
SECRET_MIN_CHARS = 32  # JWT secret, admin API key


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    # hide_input_in_errors: a malformed value must never show up in an error message.
    model_config = SettingsConfigDict(
        env_prefix="AZORA_", extra="ignore", hide_input_in_errors=True
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = f"sqlite:///{DATA_DIR}/ledger.db"
    data_dir: Path = DATA_DIR

    # --- chain ---------------------------------------------------------------------------
    chain_rpc_url: str = "http://127.0.0.1:8545"
    # The JSON-RPC URL the pages under /app use to read anchors from the chain themselves
    # (the browser calls it directly); unset: chain_rpc_url.
    public_rpc_url: str | None = None
    token_address: str | None = None
    # The signing key (ANCHOR_ROLE, MINTER_ROLE): a 0x hex key or the path of a key file
    # (hex or an encrypted keystore, with its password).
    anchor_private_key: str | None = Field(default=None, repr=False)
    anchor_private_key_file: Path | None = None
    anchor_keystore_password: str | None = Field(default=None, repr=False)
    anchor_interval_s: float = Field(default=60.0, gt=0)
    # Anchors count as confirmed after this many blocks, or, with "finalized", once the
    # chain's finalized block passes them (public testnets).
    anchor_confirmations: int = Field(default=1, ge=1, le=64)
    anchor_finality: Literal["confirmations", "finalized"] = "confirmations"
    # Most the service pays per gas (max fee per gas, base fee + tip), in whole gwei: above
    # it nothing is signed and a `fee-cap` alert waits for fees to fall (runaway fee guard).
    max_fee_gwei: int = Field(default=500, ge=1, le=1_000_000)
    # "off": no local chain is started, no token deployed, no anchoring worker runs
    # (the ledger API alone; proofs answer not-anchored).
    anchoring: bool = True

    # --- the log's signed checkpoints (DESIGN §14) ---------------------------------------
    # The checkpoints' origin line and the key's name. Default: azora-ledger/<chain id>/
    # <contract>, the deployment the checkpoints are anchored on (set it to keep one name
    # across a move to a new contract).
    log_origin: str | None = None
    # The log's Ed25519 key: PRIVATE+KEY+<name>+<id>+<base64>, 64 hex digits, the base64 of
    # 32 bytes, a PEM private key, or the path of a file holding one. Production requires
    # it; development generates one, kept under data_dir.
    log_signing_key: str | None = Field(default=None, repr=False)

    # --- credentials ---------------------------------------------------------------------
    admin_api_key: str | None = Field(default=None, repr=False)
    # Signs user tokens. Development: generated once and kept under data_dir.
    jwt_secret: str | None = Field(default=None, repr=False)

    # --- HTTP layer ----------------------------------------------------------------------
    # Per principal, generous so benchmarks are not throttled. On PostgreSQL one bucket per
    # principal is shared by every process (api/ratestore.py); false: one per process.
    rate_limit_per_s: float = Field(default=20_000.0, gt=0)
    rate_limit_burst: int = Field(default=40_000, ge=1)
    rate_limit_shared: bool = True
    # Browser origins allowed to call the API from their pages (CORS), comma-separated, e.g.
    # "https://app.example.com,https://admin.example.com"; "*": any. Empty: no CORS header.
    cors_origins: str = ""
    # A batch of 1,000 entries with a few postings each is about 400 KiB.
    max_body_bytes: int = Field(default=4 * MIB, ge=1024)
    user_token_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    # How long a verified API key is trusted before it is read again (revocation delay in
    # the *other* processes; the process that revokes forgets it at once).
    key_cache_ttl_s: float = Field(default=2.0, ge=0, le=300)
    access_log: bool = False  # the HTTP server's line per request (costs throughput)
    # `json`: the service's log lines as one JSON object each, with the request id.
    log_format: Literal["text", "json"] = "text"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # HTTP worker processes; unset: one per two CPUs (each has its own group-commit writer).
    workers: int | None = Field(default=None, ge=1, le=64)

    # --- background work -----------------------------------------------------------------
    maintenance_interval_s: float = Field(default=5.0, gt=0, le=3600)

    # --- rewards (AZORA_REWARDS_*) ---------------------------------------------------------
    # Gifts between users (reward.transferred): off unless switched on.
    rewards_gifts_enabled: bool = False
    # Most a user may give away per UTC day, in smallest AZR units (default 100 AZR).
    rewards_gift_daily_limit_units: int = Field(default=100 * AZR_UNIT, ge=0)
    # How long a redemption's hold reserves the tokens before it expires.
    rewards_hold_ttl_s: int = Field(default=3600, ge=60, le=30 * 86400)
    # Merchandise waits for an admin: a longer hold.
    rewards_merchandise_hold_ttl_s: int = Field(default=14 * 86400, ge=60, le=60 * 86400)
    # A withdrawal waits for chain confirmations: long enough to outlive an RPC outage.
    rewards_withdrawal_hold_ttl_s: int = Field(default=86400, ge=60, le=30 * 86400)
    # Most journal entries one leaderboard read will project before answering.
    rewards_read_catch_up_max: int = Field(default=50_000, ge=1)

    # --- payments and subscriptions (monetization/payments, monetization/billing) ----------
    payment_provider: Literal["local", "stripe"] = "local"
    stripe_api_key: str | None = Field(default=None, repr=False)
    # Comma-separated: during a rotation both the old and the new secret verify.
    stripe_webhook_secret: str | None = Field(default=None, repr=False)
    billing_grace_days: int = Field(default=7, ge=1, le=60)
    # Days after a failed renewal's period end to retry; the last one ends the grace period.
    billing_retry_days: tuple[int, ...] = (1, 3, 5, 7)
    feature_cache_ttl_s: float = Field(default=300.0, ge=0, le=3600)

    # --- marketplace (monetization/marketplace) -------------------------------------------
    # A buyer may refund this many days after the sale; then the instructor's share is
    # released from pending to available.
    refund_window_days: int = Field(default=30, ge=0, le=365)
    # Where course materials are stored (by SHA-256); default: data_dir/media.
    media_dir: Path | None = None
    # Largest material upload (AZORA_MATERIAL_MAX_BYTES), default 256 MiB.
    material_max_bytes: int = Field(default=256 * MIB, ge=1024, le=64 * 1024 * MIB)

    @field_validator("log_origin")
    @classmethod
    def _check_log_origin(cls, origin: str | None) -> str | None:
        if origin is not None:
            try:
                check_key_name(origin)
            except ValueError as error:
                raise ValueError(f"not a log origin: {error}") from None
        return origin

    # --- enterprise licensing (monetization/licensing) -------------------------------------
    # Derives the Ed25519 keys that sign license keys. Development: generated under data_dir.
    license_signing_key: str | None = Field(default=None, repr=False)
    # Seals SSO client secrets at rest (AES-256-GCM); comma-separated during a rotation
    # (the first seals, every one opens). Development: generated under data_dir.
    sso_encryption_key: str | None = Field(default=None, repr=False)
    # Days after a month's start to retry a declined license charge (then: unpaid).
    license_charge_retry_days: tuple[int, ...] = (1, 3, 5, 7)
    licensing_dns_timeout_s: float = Field(default=3.0, gt=0, le=30)

    # --- the change stream and webhooks (DESIGN §15) ---------------------------------------
    # SSE: how often an idle stream looks for new events, and how long one stream lasts
    # before the client reconnects with Last-Event-ID (a stopping server waits that long).
    events_poll_interval_s: float = Field(default=0.5, gt=0, le=60)
    events_stream_max_s: float = Field(default=60.0, ge=1, le=3600)
    events_streams_max: int = Field(default=100, ge=1, le=10_000)  # open streams per process
    # Deliveries: first retry after webhook_retry_base_s, doubling up to webhook_retry_max_s,
    # for webhook_retry_window_s (24 h) after the event; each request bounded by the timeout.
    webhook_retry_base_s: float = Field(default=10.0, gt=0, le=3600)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0, le=86400)
    webhook_retry_window_s: float = Field(default=86400.0, gt=0, le=7 * 86400)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_interval_s: float = Field(default=1.0, gt=0, le=3600)
    webhook_workers: int = Field(default=2, ge=1, le=32)  # delivery threads per process

    @model_validator(mode="after")
    def _check_billing(self) -> Settings:
        days = self.billing_retry_days
        if not days or list(days) != sorted(set(days)) or days[0] < 1:
            raise ValueError(
                "AZORA_BILLING_RETRY_DAYS must be increasing whole days, e.g. [1,3,5,7]"
            )
        if days[-1] > self.billing_grace_days:
            raise ValueError("the last billing retry must fall within AZORA_BILLING_GRACE_DAYS")
        license_days = self.license_charge_retry_days
        if (
            not license_days
            or list(license_days) != sorted(set(license_days))
            or license_days[0] < 1
        ):
            raise ValueError("AZORA_LICENSE_CHARGE_RETRY_DAYS must be increasing whole days")
        if not self.webhook_retry_base_s <= self.webhook_retry_max_s <= self.webhook_retry_window_s:
            raise ValueError("webhook retries: base <= max <= window (AZORA_WEBHOOK_RETRY_*)")
        if self.payment_provider == "stripe" and not self.stripe_api_key:
            raise ValueError("AZORA_PAYMENT_PROVIDER=stripe needs AZORA_STRIPE_API_KEY")
        return self

    @property
    def stripe_webhook_secrets(self) -> list[str]:
        return [s.strip() for s in (self.stripe_webhook_secret or "").split(",") if s.strip()]

    @property
    def media_path(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def sso_encryption_keys(self) -> list[str]:
        return [s.strip() for s in (self.sso_encryption_key or "").split(",") if s.strip()]

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION


def weak_secret_problems(settings: Settings) -> list[str]:
    """Secrets that are set but too short to be secrets (in any environment)."""
    problems = []
    for name, value in (
        ("AZORA_JWT_SECRET", settings.jwt_secret),
        ("AZORA_ADMIN_API_KEY", settings.admin_api_key),
        ("AZORA_LICENSE_SIGNING_KEY", settings.license_signing_key),
        *(("AZORA_SSO_ENCRYPTION_KEY", key) for key in settings.sso_encryption_keys),
    ):
        if value and len(value) < SECRET_MIN_CHARS:
            problems.append(f"{name} must be at least {SECRET_MIN_CHARS} characters")
    return problems
