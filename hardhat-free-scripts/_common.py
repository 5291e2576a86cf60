"""What the scripts share: the import path and the connection options."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # scripts run as files: make `chain` importable
    sys.path.insert(0, str(REPO_ROOT))

RPC_ENV_VAR = "AZORA_CHAIN_RPC_URL"
KEY_ENV_VAR = "AZORA_ANCHOR_PRIVATE_KEY"
KEY_FILE_ENV_VAR = "AZORA_ANCHOR_PRIVATE_KEY_FILE"
KEYSTORE_PASSWORD_ENV_VAR = "AZORA_ANCHOR_KEYSTORE_PASSWORD"  # noqa: S105 - a variable name
DEPLOYMENTS_ENV_VAR = "AZORA_DEPLOYMENTS_FILE"
DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def add_chain_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rpc-url",
        default=os.environ.get(RPC_ENV_VAR, DEFAULT_RPC_URL),
        help=f"JSON-RPC endpoint (default ${RPC_ENV_VAR} or {DEFAULT_RPC_URL})",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        help="signing key file (hex or keystore JSON); default $AZORA_ANCHOR_PRIVATE_KEY, "
        "then $AZORA_ANCHOR_PRIVATE_KEY_FILE, then anvil's dev key on chain 31337",
    )
    parser.add_argument(
        "--deployments",
        type=Path,
        help="deployment record (default $AZORA_DEPLOYMENTS_FILE or .azora/deployments.json)",
    )
    parser.add_argument(
        "--confirmations", type=int, default=1, help="blocks to wait per transaction"
    )


def signing_key(args: argparse.Namespace) -> str | None:
    """--key-file, else $AZORA_ANCHOR_PRIVATE_KEY (hex or a path), else its _FILE variant."""
    if args.key_file is not None:
        return str(args.key_file)
    return os.environ.get(KEY_ENV_VAR) or os.environ.get(KEY_FILE_ENV_VAR) or None


def keystore_password() -> str | None:
    return os.environ.get(KEYSTORE_PASSWORD_ENV_VAR)


def deployments_path(args: argparse.Namespace) -> Path:
    from chain.deploy import default_deployments_path

    if args.deployments is not None:
        return Path(args.deployments)
    return Path(os.environ.get(DEPLOYMENTS_ENV_VAR) or default_deployments_path())
