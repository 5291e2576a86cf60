"""In-process chain (eth-tester / py-evm) with AzoraToken deployed once per session.

Each test gets the chain as it was just after deployment (snapshot + revert), and fresh
bindings, so in-process nonce state never leaks between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3

from chain import AzoraToken, TxSettings
from chain.retry import RetryPolicy

# eth-tester answers at once: poll fast, never retry (a failure here is a bug, not a blip).
FAST = TxSettings(poll_interval_s=0.001, retry=RetryPolicy(attempts=1, initial_delay_s=0.0))


@dataclass
class InProcessChain:
    w3: Web3
    tester: Any  # eth_tester.EthereumTester (untyped)
    accounts: list[LocalAccount]
    token_address: str
    deployed_snapshot: int

    def token(self, account_index: int = 0) -> AzoraToken:
        return AzoraToken(self.w3, self.token_address, self.accounts[account_index], settings=FAST)

    def receipt(self, tx_hash: str) -> Any:
        return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tester_chain() -> InProcessChain:
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    tester = provider.ethereum_tester
    assert tester is not None
    accounts = [Account.from_key(k.to_bytes()) for k in tester.backend.account_keys]
    token, _ = AzoraToken.deploy(w3, accounts[0], settings=FAST)
    return InProcessChain(w3, tester, accounts, token.address, tester.take_snapshot())


@pytest.fixture
def chain_env(tester_chain: InProcessChain) -> Iterator[InProcessChain]:
    tester_chain.tester.revert_to_snapshot(tester_chain.deployed_snapshot)
    yield tester_chain


@pytest.fixture
def admin(chain_env: InProcessChain) -> AzoraToken:
    """The binding signed by the deployer, who holds every role."""
    return chain_env.token(0)


@pytest.fixture
def as_account(chain_env: InProcessChain) -> Callable[[int], AzoraToken]:
    return chain_env.token
