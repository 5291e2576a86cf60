"""The composition root: builds everything once per process.

:func:`build` turns the one :class:`~azora.settings.Settings` into a :class:`Container`:
the engine, the :class:`~ledger.Ledger`, the chain side (one transaction sender per signing
key, shared by anchoring, withdrawals and every later chain writer), each domain service,
and what the HTTP layer needs. The app (:mod:`azora.asgi`), every ``azora`` command and the
tests take a container; tests swap fakes in through :func:`build`'s keyword arguments.
Nothing below ``azora/`` reads the environment or builds its own engine, settings or sender.

Parts are built on first use (``cached_property``): ``azora keys list`` opens no chain and
starts no writer thread.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.config import ApiConfig
from api.context import ApiContext
from api.keystore import KeyStore
from api.limits import Limiter, RateLimiter
from api.metrics import ServiceMetrics
from api.ratestore import SharedRateLimiter
from api.sse import StreamSlots
from azora.db import require_current_schema, require_database
from azora.devsecrets import dev_secret
from azora.jobs import Job, anchoring_job, maintenance_job, webhook_jobs
from azora.logkey import log_signing_key_text
from azora.production import refuse_insecure_production
from azora.settings import Environment, Settings
from chain.anchoring import AnchorSettings
from chain.checkpoints import Checkpoints
from chain.proofs import Proofs
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from ledger import Ledger
from ledger.store.engine import make_engine
from monetization.billing import Billing, BillingConfig, build_billing
from monetization.licensing import (
    DnsTxtResolver,
    Licensing,
    LicensingConfig,
    TxtResolver,
    build_licensing,
)
from monetization.marketplace import (
    LocalBlobStore,
    Marketplace,
    MarketplaceConfig,
    build_marketplace,
)
from monetization.payments import build_provider
from monetization.rewards import Rewards, RewardsConfig
from monetization.webhooks import Resolver, SystemResolver, Webhooks, WebhooksConfig, build_webhooks

log = logging.getLogger("azora")

Clock = Callable[[], datetime]
JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name
LICENSE_SIGNING_KEY_FILE = "license-signing-key"
SSO_ENCRYPTION_KEY_FILE = "sso-encryption-key"
GWEI = 10**9


def utcnow() -> datetime:
    return datetime.now(UTC)


class Container:
    """The services of one process. :meth:`close` releases them."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        group_commit: bool = True,
        chain: ChainRuntime | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._group_commit = group_commit
        self._chain = chain
        self._jobs: list[Job] = []
        self._lock = threading.Lock()

    # --- storage and the ledger --------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def metrics(self) -> ServiceMetrics:
        """This process's counters, filled by the ledger's writer, the chain connection and
        payments, served by /metrics."""
        return ServiceMetrics()

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(
            self.engine, clock=self.clock, group_commit=self._group_commit, metrics=self.metrics
        )

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.engine, cache_ttl_s=self.settings.key_cache_ttl_s)

    @cached_property
    def jwt_secret(self) -> str:
        """AZORA_JWT_SECRET; in development, one generated once and kept under data_dir."""
        if self.settings.jwt_secret:
            return self.settings.jwt_secret
        return dev_secret(self.settings.data_dir / JWT_SECRET_FILE)

    # --- chain side ----------------------------------------------------------------------

    def chain_config(self) -> ChainConfig:
        s = self.settings
        key_file = str(s.anchor_private_key_file) if s.anchor_private_key_file else None
        return ChainConfig(
            s.chain_rpc_url,
            s.token_address,
            s.data_dir,
            confirmations=s.anchor_confirmations,
            finalized=s.anchor_finality == "finalized",
            signing_key=s.anchor_private_key or key_file,
            keystore_password=s.anchor_keystore_password,
            tx=TxSettings(
                confirmations=s.anchor_confirmations,
                max_fee_per_gas_cap_wei=s.max_fee_gwei * GWEI,
            ),
        )

    @cached_property
    def chain(self) -> ChainRuntime:
        """The chain side: the signing key's one sender, shared by every chain writer."""
        if self._chain is not None:
            return self._chain
        return ChainRuntime(
            self.engine, self.chain_config(), clock=self.clock, metrics=self.metrics
        )

    def anchor_settings(self) -> AnchorSettings:
        return AnchorSettings(interval_s=self.settings.anchor_interval_s)

    @cached_property
    def proofs(self) -> Proofs:
        if self.settings.anchoring:
            return self.chain.proofs()  # every anchor checked against the chain first
        return Proofs(self.engine, contract=self.settings.token_address)

    # --- signed checkpoints and receipts (DESIGN §14) -------------------------------------
    @cached_property
    def checkpoints(self) -> Checkpoints:
        """The log's signed checkpoints of confirmed anchors; the key is read (or, in
        development, generated under data_dir) on the first checkpoint asked for."""
        return Checkpoints(
            self.proofs,
            lambda: log_signing_key_text(self.settings),
            origin=self.settings.log_origin,
        )

    # --- domains ---------------------------------------------------------------------------

    @cached_property
    def rewards(self) -> Rewards:
        s = self.settings
        config = RewardsConfig(
            gifts_enabled=s.rewards_gifts_enabled,
            gift_daily_limit_units=s.rewards_gift_daily_limit_units,
            hold_ttl_s=s.rewards_hold_ttl_s,
            merchandise_hold_ttl_s=s.rewards_merchandise_hold_ttl_s,
            withdrawal_hold_ttl_s=s.rewards_withdrawal_hold_ttl_s,
            read_catch_up_max=s.rewards_read_catch_up_max,
        )
        chain = self.chain if s.anchoring else None
        minter = None if chain is None else (lambda: chain.minter)
        return Rewards(self.ledger, settings=config, clock=self.clock, minter=minter)

    @cached_property
    def billing(self) -> Billing:
        """Plans, subscriptions and payments (its feature cache listens for plan changes)."""
        s = self.settings
        config = BillingConfig(
            grace_days=s.billing_grace_days,
            retry_days=tuple(s.billing_retry_days),
            feature_cache_ttl_s=s.feature_cache_ttl_s,
        )
        billing = build_billing(
            self.engine,
            self.ledger,
            config,
            build_provider(s.payment_provider, s.stripe_api_key),
            self.clock,
            webhook_secrets=s.stripe_webhook_secrets,
            metrics=self.metrics,
        )
        billing.add_charges(self.licensing.charges(billing.payments))  # monthly license charges
        return billing

    # --- enterprise licensing --------------------------------------------------------------

    def license_signing_secret(self) -> str:
        """AZORA_LICENSE_SIGNING_KEY; in development, one generated once under data_dir."""
        s = self.settings
        return s.license_signing_key or dev_secret(s.data_dir / LICENSE_SIGNING_KEY_FILE)

    def sso_encryption_keys(self) -> list[str]:
        """AZORA_SSO_ENCRYPTION_KEY (first seals); in development, one kept under data_dir."""
        s = self.settings
        return s.sso_encryption_keys or [dev_secret(s.data_dir / SSO_ENCRYPTION_KEY_FILE)]

    @cached_property
    def txt_resolver(self) -> TxtResolver:
        """Domain ownership look-ups (tests assign a StaticTxtResolver before first use)."""
        return DnsTxtResolver(timeout_s=self.settings.licensing_dns_timeout_s)

    @cached_property
    def licensing(self) -> Licensing:
        config = LicensingConfig(charge_retry_days=tuple(self.settings.license_charge_retry_days))
        return build_licensing(
            self.engine,
            self.clock,
            signing_secret=self.license_signing_secret,
            sso_secrets=self.sso_encryption_keys,
            resolver=lambda: self.txt_resolver,
            config=config,
        )

    @cached_property
    def marketplace(self) -> Marketplace:
        """Courses, purchases (split by the instructor's plan, paid through billing's
        payments), refunds, releases, payouts, reviews; materials under media_path."""
        s = self.settings
        config = MarketplaceConfig(
            refund_window_days=s.refund_window_days, material_max_bytes=s.material_max_bytes
        )
        return build_marketplace(
            engine=self.engine,
            ledger=self.ledger,
            plans=self.billing,
            payments=self.billing.payments,
            store=LocalBlobStore(s.media_path),
            config=config,
            clock=self.clock,
        )

    # --- the change stream's webhooks (DESIGN §15) -------------------------------------------

    @cached_property
    def webhook_resolver(self) -> Resolver:
        """DNS for webhook targets (tests assign a StaticResolver before first use)."""
        return SystemResolver(timeout_s=self.settings.webhook_timeout_s)

    @cached_property
    def webhooks(self) -> Webhooks:
        """Endpoints, the delivery log and the worker; production rules for targets (https,
        public addresses only) with AZORA_ENV=production."""
        s = self.settings
        config = WebhooksConfig(
            strict=s.production,
            retry_base_s=s.webhook_retry_base_s,
            retry_max_s=s.webhook_retry_max_s,
            retry_window_s=s.webhook_retry_window_s,
            timeout_s=s.webhook_timeout_s,
            lease_s=max(60.0, 6 * s.webhook_timeout_s),
        )
        return build_webhooks(
            self.engine, self.ledger, config, self.clock,
            secrets=self.sso_encryption_keys, resolver=self.webhook_resolver,
        )  # fmt: skip

    def deliver_webhooks(self) -> int:
        """One bounded round of webhook deliveries; the number delivered."""
        return self.webhooks.deliver().delivered

    # --- the HTTP layer --------------------------------------------------------------------

    def api_config(self) -> ApiConfig:
        s = self.settings
        return ApiConfig(
            jwt_secret=self.jwt_secret,
            admin_api_key=s.admin_api_key,
            rate_limit_per_s=s.rate_limit_per_s,
            rate_limit_burst=s.rate_limit_burst,
            max_body_bytes=s.max_body_bytes,
            user_token_ttl_s=s.user_token_ttl_s,
            key_cache_ttl_s=s.key_cache_ttl_s,
            anchor_interval_s=s.anchor_interval_s,
            upload_max_bytes=s.material_max_bytes,
            events_poll_interval_s=s.events_poll_interval_s,
            events_stream_max_s=s.events_stream_max_s,
            events_streams_max=s.events_streams_max,
            access_log=s.access_log,
            public_rpc_url=s.public_rpc_url or s.chain_rpc_url,
            cors_origins=tuple(o.strip() for o in s.cors_origins.split(",") if o.strip()),
            development=s.env is Environment.DEVELOPMENT,
        )

    @cached_property
    def limiter(self) -> Limiter:
        """One bucket per principal for all processes on PostgreSQL; per process on SQLite
        (one process) or with AZORA_RATE_LIMIT_SHARED=false."""
        s = self.settings
        if s.rate_limit_shared and self.engine.dialect.name == "postgresql":
            return SharedRateLimiter(self.engine, s.rate_limit_per_s, s.rate_limit_burst)
        return RateLimiter(s.rate_limit_per_s, s.rate_limit_burst)

    def api_context(self) -> ApiContext:
        config = self.api_config()
        return ApiContext(
            config=config,
            ledger=self.ledger,
            keys=self.keys,
            limiter=self.limiter,
            rewards=self.rewards,
            billing=self.billing,
            marketplace=self.marketplace,
            licensing=self.licensing,
            proofs=self.proofs,
            chain=self.chain if self.settings.anchoring else None,
            checkpoints=self.checkpoints,
            webhooks=self.webhooks,
            event_streams=StreamSlots(config.events_streams_max),
            metrics=self.metrics,
        )

    # --- serving: what runs beside the API -------------------------------------------------

    def start(self) -> None:
        """When the app starts serving: the first admin key, then the background jobs."""
        self._bootstrap_admin_key()
        # Everything allocated so far lives as long as the process: move it out of the
        # collector's reach, so a full collection pauses ~1 ms instead of ~100 ms (the p99).
        gc.collect()
        gc.freeze()
        with self._lock:
            if self.settings.anchoring:
                self._jobs.append(anchoring_job(self.chain, self.anchor_settings()))
            self._jobs.append(maintenance_job(self, self.settings.maintenance_interval_s))
            s = self.settings
            self._jobs.extend(webhook_jobs(self, s.webhook_interval_s, s.webhook_workers))
            for job in self._jobs:
                job.start()

    def stop(self) -> None:
        with self._lock:
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.stop()
        self.close()

    def maintain(self) -> None:
        """One round of upkeep (the maintenance job and ``azora maintain``): expire holds,
        settle redemptions, run billing (subscriptions and licenses), release matured
        marketplace shares, flag SLA breaches. Idempotent: one charge per period, one release
        per share and each breach flagged once, whoever runs it."""
        while self.ledger.expire_due_holds() > 0:
            pass
        self.rewards.redemptions.settle()
        self.billing.run()
        self.marketplace.maintain()
        self.licensing.check_sla()
        if isinstance(self.limiter, SharedRateLimiter):
            self.limiter.prune()

    def _bootstrap_admin_key(self) -> None:
        """With no AZORA_ADMIN_API_KEY and no key at all, make the first admin key, print it."""
        if self.settings.admin_api_key:
            return
        try:
            plaintext = self.keys.bootstrap_admin()
        except SQLAlchemyError as error:
            log.error("cannot read API keys (run `azora db upgrade`): %s", type(error).__name__)
            return
        if plaintext is not None:
            banner = "=" * 72
            print(
                f"\n{banner}\nNo API key existed, so an admin key was created. It is shown "
                f"ONCE:\n\n    {plaintext}\n\nexport AZORA_KEY={plaintext}\nMake more with "
                f"`azora keys create --scopes ...`; revoke with `azora keys revoke ID`."
                f"\n{banner}\n",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        cached: dict[str, Any] = self.__dict__
        if "billing" in cached:
            cached["billing"].close()
        if "webhooks" in cached:
            cached["webhooks"].close()
        if "ledger" in cached:
            cached["ledger"].close()
        if "engine" in cached:
            cached["engine"].dispose()

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def build(
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
    group_commit: bool = True,
    chain: ChainRuntime | None = None,
    check_database: bool = True,
) -> Container:
    """The container for ``settings`` (default: from the environment).

    Refuses insecure production settings (:class:`~azora.production.InsecureConfiguration`)
    and, with ``check_database``, a database that is missing or not migrated
    (:class:`~azora.db.DatabaseMissing`), creating nothing.
    """
    settings = settings or Settings()
    refuse_insecure_production(settings)
    if check_database:
        require_database(settings.database_url)
    container = Container(settings, clock=clock, group_commit=group_commit, chain=chain)
    if check_database:
        require_current_schema(container.engine)
    return container
