"""From settings to the chain side's own configuration objects (one place, every caller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from azora.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chain.anchoring import AnchorSettings
    from chain.runtime import ChainConfig, ChainRuntime


def chain_config(settings: Settings) -> ChainConfig:
    from chain.runtime import ChainConfig

    return ChainConfig(
        settings.chain_rpc_url,
        settings.token_address,
        settings.data_dir,
        confirmations=settings.anchor_confirmations,
        finalized=settings.anchor_finality == "finalized",
        signing_key=settings.anchor_private_key,
    )


def anchor_settings(settings: Settings) -> AnchorSettings:
    from chain.anchoring import AnchorSettings

    return AnchorSettings(interval_s=settings.anchor_interval_s)


def chain_runtime(settings: Settings, engine: Engine) -> ChainRuntime:
    """The process's one chain runtime (one sender for the signing key)."""
    from chain.runtime import ChainRuntime

    return ChainRuntime(engine, chain_config(settings))
