"""Ethereum side of Azora Ledger: the AzoraToken binding and its tooling.

Where things are: ``runtime`` (ChainRuntime, one per process: the node, the signing key's
one ``sender``, the token, the ``saga``), ``anchoring`` (the worker) with ``health`` (its
alerts), ``minting`` (the rewards domain's minter), ``proofs`` (what auditors are served),
``tables`` (this side's tables), ``audit`` (the auditor's checks), ``keys``, ``redact``.
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
