"""A real anvil on a free port for the session, stopped by its PID at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain import AzoraToken, TxSettings, connect
from chain.errors import LocalNodeError
from chain.localnode import ANVIL_DEV_KEY, LocalNode, find_anvil, start_anvil

# anvil mines each transaction at once; the receipt can lag a few ms.
ANVIL_SETTINGS = TxSettings(poll_interval_s=0.005, receipt_timeout_s=30.0)
# anvil's default mnemonic, accounts 1..3 (0 is ANVIL_DEV_KEY): public dev keys.
OTHER_DEV_KEYS = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]


@pytest.fixture(scope="session")
def anvil_binary() -> Path:
    try:
        return find_anvil()
    except LocalNodeError as e:
        pytest.fail(f"{e} (the chain integration tests need `npm ci`)")


@pytest.fixture(scope="session")
def anvil(anvil_binary: Path) -> Iterator[LocalNode]:
    node = start_anvil()
    try:
        yield node
    finally:
        pid = node.pid
        node.stop()
        with pytest.raises(ProcessLookupError):  # really gone
            os.kill(pid, 0)


@pytest.fixture(scope="session")
def w3(anvil: LocalNode) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="session")
def admin_account() -> LocalAccount:
    account: LocalAccount = Account.from_key(ANVIL_DEV_KEY)
    return account


@pytest.fixture(scope="session")
def others() -> list[LocalAccount]:
    return [Account.from_key(k) for k in OTHER_DEV_KEYS]


@pytest.fixture
def token(w3: Web3, admin_account: LocalAccount) -> AzoraToken:
    """A fresh deployment per test: cheap on anvil (~20 ms) and fully isolated."""
    deployed, _ = AzoraToken.deploy(w3, admin_account, settings=ANVIL_SETTINGS)
    return deployed
