"""Deploy AzoraToken to any JSON-RPC chain, once per chain id (recorded in a JSON file).

.venv/bin/python hardhat-free-scripts/deploy.py --rpc-url http://127.0.0.1:8545
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import _common

from chain.connect import connect
from chain.deploy import deploy_or_reuse
from chain.errors import ChainError
from chain.keys import load_account
from chain.sender import TxSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _common.add_chain_options(parser)
    parser.add_argument("--admin", help="admin address (default: the signer)")
    args = parser.parse_args(argv)
    path = _common.deployments_path(args)
    try:
        w3 = connect(args.rpc_url)
        account = load_account(
            _common.signing_key(args),
            chain_id=int(w3.eth.chain_id),
            keystore_password=_common.keystore_password(),
        )
        outcome = deploy_or_reuse(
            w3,
            account,
            path,
            args.admin,
            settings=TxSettings(confirmations=args.confirmations),
        )
    except (ChainError, OSError) as e:
        print(f"deploy failed: {e}", file=sys.stderr)
        return 1
    what = "already deployed" if outcome.reused else "deployed"
    print(
        f"AzoraToken {what} at {outcome.deployment.address} (chain {outcome.deployment.chain_id})"
    )
    if not outcome.code_matches_artifact:
        print(
            "warning: the code there differs from contracts/build/AzoraToken.json", file=sys.stderr
        )
    print(f"recorded in {path}")
    print(json.dumps(asdict(outcome.deployment), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
