"""The chain side of one process: :class:`ChainRuntime`, built once by the composition root.

It owns the node connection, the signing key's **one** :class:`TransactionSender` (so an
anchor and a withdrawal never race for a nonce), the token binding, the chain-write saga,
and hands them to every chain writer: the anchoring worker (:meth:`ChainRuntime.anchor_worker`),
the rewards domain's minter (:attr:`ChainRuntime.minter`), deployments (:meth:`deploy`).
It takes plain values (:class:`ChainConfig`) and reads no environment. Everything is opened
on first use: the chain may be down while the service starts.

The token's address is ``token_address`` when given; otherwise the deployment recorded in
the database for the node's chain id; :meth:`ChainRuntime.deploy` deploys (and records) one
when there is none. Against a local RPC URL with nothing answering, :func:`ensure_local_node`
starts an anvil with its state under ``data_dir/chain/`` so restarts keep every anchor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Engine, insert, select
from web3 import Web3

from chain.anchoring import AnchorSettings, AnchorWorker
from chain.connect import RpcMetrics, connect
from chain.errors import ChainError, ChainUnavailable, ContractNotDeployed
from chain.health import AnchoringHealth, WorkerStatus, anchoring_health
from chain.keys import load_account
from chain.localnode import LOCALHOST, rpc_chain_id, start_anvil
from chain.minting import ChainMinter
from chain.proofs import ChainConfirmation, Proofs
from chain.redact import redact_url
from chain.retry import call_with_retry
from chain.saga import GAP_GRACE_S, ChainWriteSaga
from chain.sender import TransactionSender, TxSettings
from chain.tables import chain_deployments
from chain.token import AzoraToken

log = logging.getLogger(__name__)

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class ChainConfig:
    """Plain values from settings. ``signing_key``: a hex key or a key file's path (None:
    anvil's dev key, on chain 31337 only). ``finalized``: confirmed once the chain's
    finalized block passes a transaction, else once it is ``confirmations`` deep."""

    rpc_url: str
    token_address: str | None = None
    data_dir: Path = Path(".azora")
    confirmations: int = 1
    finalized: bool = False
    signing_key: str | None = field(default=None, repr=False)
    keystore_password: str | None = field(default=None, repr=False)
    # Bounds on sending and waiting; default TxSettings(confirmations). When given, its
    # confirmations are the ones that count.
    tx: TxSettings | None = None
    gap_grace_s: float = GAP_GRACE_S

    def tx_settings(self) -> TxSettings:
        if self.tx is not None:
            return self.tx
        return TxSettings(confirmations=self.confirmations)


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


def recorded_address(engine: Engine, chain_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(chain_deployments.c.address).where(chain_deployments.c.chain_id == chain_id)
        ).scalar()


class ChainRuntime:
    """One per process; thread-safe. ``w3`` replaces the connection (tests: eth-tester);
    ``metrics`` counts the connection's failed RPC calls (:mod:`chain.connect`)."""

    def __init__(
        self,
        engine: Engine,
        config: ChainConfig,
        *,
        w3: Web3 | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: RpcMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.config = config
        self.clock = clock
        self.status = WorkerStatus()
        self._w3 = w3
        self._lock = threading.RLock()
        self._sender: TransactionSender | None = None
        self._token: AzoraToken | None = None
        self._saga: ChainWriteSaga | None = None
        # No I/O until a withdrawal asks: the minter opens the token on first use.
        self.minter = ChainMinter(lambda: self.token, lambda: self.saga)

    # -- the pieces, opened on first use -------------------------------------------------

    @property
    def w3(self) -> Web3:
        with self._lock:
            if self._w3 is None:
                self._w3 = connect(self.config.rpc_url, metrics=self.metrics)
            return self._w3

    @property
    def sender(self) -> TransactionSender:
        """The signing key's one sender in this process."""
        with self._lock:
            if self._sender is None:
                settings = self.config.tx_settings()
                w3 = self.w3
                try:
                    chain_id = int(
                        call_with_retry(lambda: w3.eth.chain_id, settings.retry, "eth_chainId")
                    )
                except ChainError as error:
                    where = redact_url(self.config.rpc_url)
                    raise ChainUnavailable(f"no chain answers at {where}: {error}") from None
                account = load_account(
                    self.config.signing_key,
                    chain_id=chain_id,
                    keystore_password=self.config.keystore_password,
                )
                self._sender = TransactionSender(w3, account, settings)
            return self._sender

    @property
    def token(self) -> AzoraToken:
        """The deployed token, signed through :attr:`sender`; ContractNotDeployed if none."""
        with self._lock:
            if self._token is None:
                self._token = self._open(deploy_if_missing=False)
            return self._token

    @property
    def saga(self) -> ChainWriteSaga:
        with self._lock:
            if self._saga is None:
                self._saga = ChainWriteSaga(
                    self.sender, self.settled_block, gap_grace_s=self.config.gap_grace_s
                )
            return self._saga

    def deploy(self) -> AzoraToken:
        """The token: the configured or recorded one, else a new deployment (recorded)."""
        with self._lock:
            if self._token is None:
                self._token = self._open(deploy_if_missing=True)
            return self._token

    def settled_block(self) -> int:
        """The highest block whose transactions count as confirmed."""
        w3 = self.w3
        retry = self.config.tx_settings().retry
        if self.config.finalized:
            return int(
                call_with_retry(lambda: w3.eth.get_block("finalized")["number"], retry, "finalized")
            )
        head = int(call_with_retry(lambda: w3.eth.block_number, retry, "eth_blockNumber"))
        return head - self.config.tx_settings().confirmations + 1

    # -- what the process builds from them ------------------------------------------------

    def anchor_worker(self, settings: AnchorSettings | None = None) -> AnchorWorker:
        """An anchoring worker over this runtime's token, sender and saga."""
        return AnchorWorker(
            self.engine,
            self.token,
            self.saga,
            settings or AnchorSettings(),
            clock=self.clock,
            status=self.status,
        )

    def proofs(self) -> Proofs:
        """Proof assembly for the configured contract, each anchor checked against the chain
        before a proof is served against it."""
        contract = self.config.token_address
        return Proofs(
            self.engine,
            contract=contract,
            confirm=ChainConfirmation(lambda: self.token, self.settled_block),
        )

    def health(self) -> AnchoringHealth:
        """Anchoring's health from the database (every process sees the same) and this
        process's last round."""
        chain_id = self._sender.chain_id() if self._sender is not None else None
        contract = self._token.address if self._token is not None else self.config.token_address
        return anchoring_health(self.engine, chain_id, contract, self.status, self.clock)

    # -- opening the token ----------------------------------------------------------------

    def _open(self, *, deploy_if_missing: bool) -> AzoraToken:
        sender = self.sender
        chain_id = sender.chain_id()
        if self.config.token_address:
            return AzoraToken.at(self.w3, self.config.token_address, sender=sender)
        address = recorded_address(self.engine, chain_id)
        if address is not None:
            try:
                return AzoraToken.at(self.w3, address, sender=sender)
            except ContractNotDeployed:
                log.warning("the token recorded for chain %d at %s is gone", chain_id, address)
                if not deploy_if_missing:
                    raise
        elif not deploy_if_missing:
            raise ContractNotDeployed(f"no AzoraToken recorded for chain {chain_id}")
        token, result = AzoraToken.deploy(self.w3, sender.account, None, sender=sender)
        with self.engine.begin() as conn:
            conn.execute(chain_deployments.delete().where(chain_deployments.c.chain_id == chain_id))
            conn.execute(
                insert(chain_deployments).values(
                    chain_id=chain_id,
                    address=token.address,
                    tx_hash=result.tx_hash,
                    block_number=result.block_number,
                    deployed_at=self.clock(),
                )
            )
        log.info("deployed AzoraToken at %s on chain %d", token.address, chain_id)
        return token
