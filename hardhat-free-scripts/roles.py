"""Grant, revoke or check ANCHOR_ROLE / MINTER_ROLE (or DEFAULT_ADMIN_ROLE) on AzoraToken.

    .venv/bin/python hardhat-free-scripts/roles.py grant ANCHOR_ROLE 0xAbc...
    .venv/bin/python hardhat-free-scripts/roles.py revoke MINTER_ROLE 0xAbc... --address 0xTok...
    .venv/bin/python hardhat-free-scripts/roles.py check ANCHOR_ROLE 0xAbc...

The signer needs DEFAULT_ADMIN_ROLE to grant or revoke. The contract address defaults to
the one recorded for the node's chain id by deploy.py.
"""

from __future__ import annotations

import argparse
import sys

import _common

from chain.connect import connect
from chain.deploy import recorded_token
from chain.errors import ChainError
from chain.keys import load_account
from chain.sender import TxSettings
from chain.token import ROLES, AzoraToken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["grant", "revoke", "check"])
    parser.add_argument("role", choices=sorted(ROLES))
    parser.add_argument("account", help="address to grant / revoke / check")
    parser.add_argument("--address", help="AzoraToken address (default: the recorded one)")
    _common.add_chain_options(parser)
    args = parser.parse_args(argv)
    role = ROLES[args.role]
    try:
        w3 = connect(args.rpc_url)
        signer = None
        if args.action != "check":
            signer = load_account(
                _common.signing_key(args),
                chain_id=int(w3.eth.chain_id),
                keystore_password=_common.keystore_password(),
            )
        settings = TxSettings(confirmations=args.confirmations)
        if args.address:
            token = AzoraToken.at(w3, args.address, signer, settings=settings)
        else:
            token = recorded_token(w3, signer, _common.deployments_path(args), settings=settings)
        if args.action == "grant":
            print(f"granted in {token.grant_role(role, args.account).tx_hash}")
        elif args.action == "revoke":
            print(f"revoked in {token.revoke_role(role, args.account).tx_hash}")
        has = token.has_role(role, args.account)
    except (ChainError, ValueError) as e:
        print(f"{args.action} failed: {e}", file=sys.stderr)
        return 1
    print(f"{args.account} {'has' if has else 'does not have'} {args.role} on {token.address}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
