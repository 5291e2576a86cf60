"""Deploy AzoraToken once per chain and remember where: ``.azora/deployments.json``.

The record maps a chain id to its deployment. ``deploy_or_reuse`` deploys only when no
deployment is recorded for the node's chain id, or when the recorded address has no code
(a wiped dev chain); an exclusive file lock makes concurrent callers deploy at most once.
The ``azora deploy`` command and ``hardhat-free-scripts/deploy.py`` both call it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.artifact import ContractArtifact, load_artifact
from chain.errors import ChainError, ContractNotDeployed
from chain.retry import call_with_retry
from chain.sender import TxSettings
from chain.token import AzoraToken

DEFAULT_DEPLOYMENTS_PATH = Path(".azora") / "deployments.json"
DEPLOYMENTS_ENV_VAR = "AZORA_DEPLOYMENTS_FILE"


@dataclass(frozen=True)
class Deployment:
    """Where and how AzoraToken was deployed on one chain."""

    chain_id: int
    address: str
    tx_hash: str
    block_number: int
    deployer: str
    admin: str
    sources_sha256: str
    compiler_version: str
    deployed_at: str


@dataclass(frozen=True)
class DeployOutcome:
    token: AzoraToken
    deployment: Deployment
    reused: bool
    # False when a reused deployment runs other code than the current artifact (older build).
    code_matches_artifact: bool


def default_deployments_path() -> Path:
    """Where the scripts record deployments unless told (``$AZORA_DEPLOYMENTS_FILE`` is read
    by the scripts themselves, not here)."""
    return Path(DEFAULT_DEPLOYMENTS_PATH)


def read_deployments(path: Path) -> dict[int, Deployment]:
    """All recorded deployments by chain id; empty when the file does not exist."""
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ChainError(f"unreadable deployments file {path}: {e}") from e
    try:
        return {int(chain_id): Deployment(**entry) for chain_id, entry in raw.items()}
    except (TypeError, ValueError) as e:
        raise ChainError(f"malformed deployments file {path}: {e}") from e


def record_deployment(path: Path, deployment: Deployment) -> None:
    """Adds or replaces the record for ``deployment.chain_id``; atomic (write, then rename)."""
    records = read_deployments(path)
    records[deployment.chain_id] = deployment
    text = json.dumps({str(k): asdict(v) for k, v in sorted(records.items())}, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def deploy_or_reuse(
    w3: Web3,
    account: LocalAccount,
    deployments_path: Path | None = None,
    admin: str | None = None,
    *,
    settings: TxSettings | None = None,
    artifact: ContractArtifact | None = None,
) -> DeployOutcome:
    """The chain's recorded AzoraToken if it has code there, else a new deployment, recorded."""
    path = deployments_path or default_deployments_path()
    artifact = artifact or load_artifact()
    settings = settings or TxSettings()
    chain_id = int(call_with_retry(lambda: w3.eth.chain_id, settings.retry, "eth_chainId"))
    with _exclusive(path):
        recorded = read_deployments(path).get(chain_id)
        if recorded is not None:
            try:
                token = AzoraToken.at(
                    w3, recorded.address, account, settings=settings, artifact=artifact
                )
            except ContractNotDeployed:
                pass  # recorded on a chain that was reset: deploy afresh below
            else:
                return DeployOutcome(token, recorded, True, _code_matches(token))
        token, result = AzoraToken.deploy(w3, account, admin, settings=settings, artifact=artifact)
        deployment = Deployment(
            chain_id=chain_id,
            address=token.address,
            tx_hash=result.tx_hash,
            block_number=result.block_number,
            deployer=str(account.address),
            admin=str(admin or account.address),
            sources_sha256=artifact.sources_sha256,
            compiler_version=artifact.compiler_version,
            deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        record_deployment(path, deployment)
        return DeployOutcome(token, deployment, False, True)


def _code_matches(token: AzoraToken) -> bool:
    try:
        token.check_deployed(require_same_code=True)
    except ContractNotDeployed:
        return False
    return True


def recorded_token(
    w3: Web3,
    account: LocalAccount | None,
    deployments_path: Path | None = None,
    *,
    settings: TxSettings | None = None,
) -> AzoraToken:
    """The AzoraToken recorded for the node's chain id; ContractNotDeployed if none is."""
    path = deployments_path or default_deployments_path()
    settings = settings or TxSettings()
    chain_id = int(call_with_retry(lambda: w3.eth.chain_id, settings.retry, "eth_chainId"))
    recorded = read_deployments(path).get(chain_id)
    if recorded is None:
        raise ContractNotDeployed(f"no AzoraToken recorded for chain {chain_id} in {path}")
    return AzoraToken.at(w3, recorded.address, account, settings=settings)
