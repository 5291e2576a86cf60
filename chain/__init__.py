"""Ethereum side of Azora Ledger: the AzoraToken binding and its tooling.

Everything here that talks to a node raises :class:`chain.errors.ChainError` subclasses only.
"""

from chain.artifact import ContractArtifact, load_artifact
from chain.connect import connect
from chain.deploy import Deployment, DeployOutcome, deploy_or_reuse, read_deployments
from chain.errors import (
    ArtifactError,
    ChainError,
    ChainUnavailable,
    CompilerError,
    ContractNotDeployed,
    LocalNodeError,
    SignerKeyError,
    TransactionReverted,
    TransactionTimeout,
)
from chain.keys import load_account
from chain.retry import RetryPolicy
from chain.sender import TxResult, TxSettings
from chain.token import ANCHOR_ROLE, DEFAULT_ADMIN_ROLE, MINTER_ROLE, ROLES, Anchor, AzoraToken

__all__ = [
    "ANCHOR_ROLE",
    "DEFAULT_ADMIN_ROLE",
    "MINTER_ROLE",
    "ROLES",
    "Anchor",
    "ArtifactError",
    "AzoraToken",
    "ChainError",
    "ChainUnavailable",
    "CompilerError",
    "ContractArtifact",
    "ContractNotDeployed",
    "DeployOutcome",
    "Deployment",
    "LocalNodeError",
    "RetryPolicy",
    "SignerKeyError",
    "TransactionReverted",
    "TransactionTimeout",
    "TxResult",
    "TxSettings",
    "connect",
    "deploy_or_reuse",
    "load_account",
    "load_artifact",
    "read_deployments",
]
