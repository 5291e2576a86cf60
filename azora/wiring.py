"""From settings to the chain side's own configuration objects (one place, every caller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from azora.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chain.anchoring import AnchorSettings
    from chain.runtime import ChainConfig
    from ledger import Ledger
    from monetization.billing import Billing


def chain_config(settings: Settings) -> ChainConfig:
    from chain.runtime import ChainConfig

    return ChainConfig(
        settings.chain_rpc_url,
        settings.token_address,
        settings.data_dir,
        confirmations=settings.anchor_confirmations,
    )


def anchor_settings(settings: Settings) -> AnchorSettings:
    from chain.anchoring import AnchorSettings

    return AnchorSettings(
        interval_s=settings.anchor_interval_s,
        finalized=settings.anchor_finality == "finalized",
    )


def billing_service(settings: Settings, engine: Engine, ledger: Ledger) -> Billing:
    """Billing and payments over ``ledger``, configured from ``settings`` (one per process)."""
    from monetization.billing import BillingConfig, build_billing
    from monetization.payments import build_provider

    config = BillingConfig(
        grace_days=settings.billing_grace_days,
        retry_days=tuple(settings.billing_retry_days),
        feature_cache_ttl_s=settings.feature_cache_ttl_s,
    )
    secrets = [s for s in (settings.stripe_webhook_secret or "").split(",") if s.strip()]
    return build_billing(
        engine,
        ledger,
        config,
        build_provider(settings.payment_provider, settings.stripe_api_key),
        ledger.clock,
        webhook_secrets=secrets,
    )
