"""The chain side of one process: one token binding, hence one transaction sender for the
signing key, shared by the anchoring worker and the withdrawals' minter."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from api.context import ChainStatus
from azora.settings import Settings
from chain.anchoring import AnchorSettings, AnchorWorker
from chain.localnode import rpc_chain_id
from chain.runtime import ChainConfig, ensure_local_node, open_token
from chain.token import AzoraToken
from monetization.rewards.fulfilment import ChainMinter

CHAIN_PROBE_TIMEOUT_S = 0.5


def chain_config(settings: Settings) -> ChainConfig:
    return ChainConfig(
        settings.chain_rpc_url,
        settings.token_address,
        Path(settings.data_dir),
        confirmations=settings.anchor_confirmations,
    )


class ChainSide:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.config = chain_config(settings)
        self._token: AzoraToken | None = None
        self._minter: ChainMinter | None = None
        self._lock = threading.Lock()

    def ensure_local_node(self) -> int | None:
        return ensure_local_node(self.config)

    def token(self, *, deploy_if_missing: bool = False) -> AzoraToken:
        with self._lock:
            if self._token is None:
                self._token = open_token(
                    self.engine, self.config, deploy_if_missing=deploy_if_missing
                )
            return self._token

    def minter(self) -> ChainMinter:
        token = self.token()
        with self._lock:
            if self._minter is None:
                self._minter = ChainMinter(token)
            return self._minter

    def anchor_settings(self) -> AnchorSettings:
        return AnchorSettings(
            interval_s=self.settings.anchor_interval_s,
            finalized=self.settings.anchor_finality == "finalized",
        )

    def anchor_worker(self) -> AnchorWorker:
        return AnchorWorker(self.engine, self.token(), self.anchor_settings())

    def status(self) -> ChainStatus:
        chain_id = rpc_chain_id(self.config.rpc_url, timeout_s=CHAIN_PROBE_TIMEOUT_S)
        if chain_id is None:
            return ChainStatus(enabled=True, ok=False, detail="unreachable")
        return ChainStatus(enabled=True, ok=True, detail=f"ok (chain id {chain_id})")

    def close(self) -> None:
        pass
