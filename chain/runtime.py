"""Wiring the chain side from settings: the node, the signer, the deployed token.

The token's address is ``AZORA_TOKEN_ADDRESS`` when set; otherwise the deployment recorded
in the database for the node's chain id (if code is still there), otherwise a fresh
deployment, recorded. Against the default local RPC URL with nothing answering, a local
anvil is started with its state under ``.azora/chain/`` so restarts keep every anchor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Engine, insert, select
from web3 import Web3

from chain.connect import connect
from chain.errors import ChainUnavailable, ContractNotDeployed
from chain.keys import load_account
from chain.localnode import LOCALHOST, rpc_chain_id, start_anvil
from chain.retry import call_with_retry
from chain.sender import TxSettings
from chain.token import AzoraToken
from ledger.store.tables import chain_deployments

log = logging.getLogger(__name__)

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class ChainConfig:
    rpc_url: str
    token_address: str | None = None
    data_dir: Path = Path(".azora")
    confirmations: int = 1


def ensure_local_node(config: ChainConfig) -> int | None:
    """Start a persistent local anvil when the RPC URL is local and nothing answers.

    Returns the PID of the node started, or None when one already answered (or the URL is
    not local, in which case nothing is started and the caller will report the outage).
    """
    if rpc_chain_id(config.rpc_url) is not None:
        return None
    parsed = urlparse(config.rpc_url)
    if parsed.hostname not in LOCAL_HOSTS or parsed.port is None:
        return None
    chain_dir = config.data_dir / "chain"
    chain_dir.mkdir(parents=True, exist_ok=True)
    node = start_anvil(
        parsed.port,
        host=LOCALHOST,
        state_path=chain_dir / "state.json",
        log_path=chain_dir / "anvil.log",
    )
    (chain_dir / "anvil.pid").write_text(f"{node.pid}\n")
    log.info("started a local anvil (pid %d) at %s", node.pid, node.rpc_url)
    return node.pid


def chain_id_of(w3: Web3, settings: TxSettings) -> int:
    return int(call_with_retry(lambda: w3.eth.chain_id, settings.retry, "eth_chainId"))


def recorded_address(engine: Engine, chain_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(chain_deployments.c.address).where(chain_deployments.c.chain_id == chain_id)
        ).scalar()


def open_token(
    engine: Engine, config: ChainConfig, *, deploy_if_missing: bool = True
) -> AzoraToken:
    """The AzoraToken binding with the anchoring/minting signer."""
    settings = TxSettings(confirmations=config.confirmations)
    w3 = connect(config.rpc_url)
    try:
        chain_id = chain_id_of(w3, settings)
    except Exception as error:
        raise ChainUnavailable(f"no chain answers at {config.rpc_url}: {error}") from error
    account = load_account(chain_id=chain_id)
    if config.token_address:
        return AzoraToken.at(w3, config.token_address, account, settings=settings)
    address = recorded_address(engine, chain_id)
    if address is not None:
        try:
            return AzoraToken.at(w3, address, account, settings=settings)
        except ContractNotDeployed:
            log.warning("the token recorded for chain %d at %s is gone", chain_id, address)
            if not deploy_if_missing:
                raise
    elif not deploy_if_missing:
        raise ContractNotDeployed(f"no AzoraToken recorded for chain {chain_id}")
    token, result = AzoraToken.deploy(w3, account, None, settings=settings)
    with engine.begin() as conn:
        conn.execute(chain_deployments.delete().where(chain_deployments.c.chain_id == chain_id))
        conn.execute(
            insert(chain_deployments).values(
                chain_id=chain_id,
                address=token.address,
                tx_hash=result.tx_hash,
                block_number=result.block_number,
                deployed_at=datetime.now(UTC),
            )
        )
    log.info("deployed AzoraToken at %s on chain %d", token.address, chain_id)
    return token
