"""On-chain withdrawals over an in-process chain (eth-tester): mint, then post; or void."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from chain import AzoraToken, TxSettings
from chain.retry import RetryPolicy
from ledger import HoldStatus, Ledger
from monetization.rewards import CatalogItem, ItemType, RedemptionStatus, Rewards
from monetization.rewards.fulfilment import ChainMinter, MintPending, MintReceipt
from monetization.rewards.model import WITHDRAWN
from monetization.rewards.reconcile import reconcile
from tests.integration.rewards.conftest import AZR, FakeClock, fund

FAST = TxSettings(poll_interval_s=0.001, retry=RetryPolicy(attempts=1, initial_delay_s=0.0))
USER_ADDRESS = "0x" + "ab" * 20


class Chain:
    def __init__(self) -> None:
        provider = EthereumTesterProvider()
        self.w3 = Web3(provider)
        tester = provider.ethereum_tester
        assert tester is not None
        self.tester: Any = tester
        keys = self.tester.backend.account_keys
        self.accounts = [Account.from_key(k.to_bytes()) for k in keys]
        token, _ = AzoraToken.deploy(self.w3, self.accounts[0], settings=FAST)
        self.address = token.address
        self.snapshot = self.tester.take_snapshot()

    def token(self, signer: int = 0) -> AzoraToken:
        return AzoraToken(self.w3, self.address, self.accounts[signer], settings=FAST)


@pytest.fixture(scope="module")
def chain_() -> Chain:
    return Chain()


@pytest.fixture
def chain(chain_: Chain) -> Iterator[Chain]:
    chain_.tester.revert_to_snapshot(chain_.snapshot)
    yield chain_


def _rewards(book: Ledger, clock: FakeClock, minter: Any) -> Rewards:
    rewards = Rewards(book, clock=clock, minter=lambda: minter)
    rewards.redemptions.put_item(
        CatalogItem("azr-10", "Withdraw 10 AZR", ItemType.ONCHAIN_WITHDRAWAL, 10 * AZR)
    )
    fund(rewards, "u1", 4)
    return rewards


def test_a_confirmed_mint_posts_the_hold(ledger_: Ledger, clock: FakeClock, chain: Chain) -> None:
    token = chain.token()
    rewards = _rewards(ledger_, clock, ChainMinter(token))
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    done = rewards.redemptions.process(held.id)
    assert done.status is RedemptionStatus.FULFILLED and done.tx_hash
    assert token.balance_of(USER_ADDRESS) == 10 * AZR
    assert rewards.book.balance(WITHDRAWN).balance == 10 * AZR
    assert rewards.earnings.balance("u1") == (10 * AZR, 10 * AZR)
    assert reconcile(rewards.book, ChainMinter(token)).ok
    token.mint(USER_ADDRESS, 1)  # minted behind the ledger's back
    report = reconcile(rewards.book, ChainMinter(token))
    assert not report.ok and report.total_supply == 10 * AZR + 1


def test_a_failed_mint_voids_the_hold_and_returns_the_tokens(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    no_role = chain.token(signer=1)  # lacks MINTER_ROLE: the mint reverts
    rewards = _rewards(ledger_, clock, ChainMinter(no_role))
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    failed = rewards.redemptions.process(held.id)
    assert failed.status is RedemptionStatus.FAILED and "mint" in (failed.reason or "")
    assert rewards.book.hold_state(held.hold_entry_id or "").status is HoldStatus.VOIDED
    assert rewards.earnings.balance("u1") == (20 * AZR, 20 * AZR)
    assert reconcile(rewards.book, ChainMinter(chain.token())).ok


class SlowMinter:
    """Sends, but has no confirmation until told: a restart must finish the withdrawal."""

    def __init__(self) -> None:
        self.confirmed = False
        self.supply = 0

    def send_mint(self, to: str, amount: int) -> str:
        self.supply += amount
        return "0x" + "11" * 32

    def wait_mint(self, tx_hash: str) -> MintReceipt:
        if not self.confirmed:
            raise MintPending("not mined yet")
        return MintReceipt(tx_hash, 7)

    def total_supply(self) -> int:
        return self.supply


def test_an_unconfirmed_mint_is_finished_by_settle(ledger_: Ledger, clock: FakeClock) -> None:
    minter = SlowMinter()
    rewards = _rewards(ledger_, clock, minter)
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    minting = rewards.redemptions.process(held.id)
    assert minting.status is RedemptionStatus.MINTING and minting.tx_hash
    with pytest.raises(Exception):
        rewards.redemptions.cancel("u1", held.id)
    report = reconcile(rewards.book, minter)
    assert not report.ok and report.minting == 1  # in flight: the supply is ahead
    # "Restart": a fresh service over the same ledger settles it once the chain confirms.
    minter.confirmed = True
    again = Rewards(rewards.book, clock=clock, minter=lambda: minter)
    again.redemptions.settle()
    assert again.redemptions.get("u1", held.id).status is RedemptionStatus.FULFILLED
    assert reconcile(rewards.book, minter).ok


def test_no_chain_configured_fails_cleanly(ledger_: Ledger, clock: FakeClock) -> None:
    rewards = Rewards(ledger_, clock=clock)  # no minter at all
    rewards.redemptions.put_item(
        CatalogItem("azr-10", "Withdraw 10 AZR", ItemType.ONCHAIN_WITHDRAWAL, 10 * AZR)
    )
    fund(rewards, "u1", 2)
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    assert rewards.redemptions.process(held.id).status is RedemptionStatus.FAILED
    assert rewards.earnings.balance("u1") == (10 * AZR, 10 * AZR)
