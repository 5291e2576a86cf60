"""On-chain withdrawals over an in-process chain (eth-tester): mint, then post; or void.

Crash safety: the signed mint is stored with the redemption before it is broadcast, and
``settle`` (a "restarted" service: a fresh Rewards and a fresh ChainRuntime, so no
in-process nonce state survives) finishes it from what the chain says. The minter is the
runtime's, as the composition root builds it: ``ChainRuntime(...).minter``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine
from web3 import EthereumTesterProvider, Web3

from chain import AzoraToken, TxSettings
from chain.minting import ChainMinter
from chain.retry import RetryPolicy
from chain.runtime import ChainConfig, ChainRuntime
from chain.token import MINTER_ROLE
from ledger import HoldStatus, Ledger
from monetization.rewards import CatalogItem, ItemType, RedemptionStatus, Rewards
from monetization.rewards.fulfilment import MintPending, MintReceipt, MintStatus
from monetization.rewards.model import WITHDRAWN, MintState, Redemption, SignedMint
from monetization.rewards.reconcile import reconcile
from monetization.rewards.redemptions import MINT_GRACE_S
from tests.integration.rewards.conftest import AZR, FakeClock, fund

FAST = TxSettings(
    poll_interval_s=0.001, receipt_timeout_s=0.2, retry=RetryPolicy(attempts=1, initial_delay_s=0.0)
)
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
        """A fresh binding: its own sender, no nonce remembered (as after a restart)."""
        return AzoraToken(self.w3, self.address, self.accounts[signer], settings=FAST)

    def runtime(self, engine: Engine, signer: int = 0) -> ChainRuntime:
        """A process's chain side, as the composition root builds it: one sender."""
        config = ChainConfig(
            "http://eth-tester.invalid",
            token_address=self.address,
            signing_key="0x" + bytes(self.accounts[signer].key).hex(),
            tx=FAST,
        )
        return ChainRuntime(engine, config, w3=self.w3)

    def minter(self, engine: Engine, signer: int = 0) -> ChainMinter:
        return self.runtime(engine, signer).minter

    def supply(self) -> int:
        return self.token().total_supply()


@pytest.fixture(scope="module")
def chain_() -> Chain:
    return Chain()


@pytest.fixture
def chain(chain_: Chain) -> Iterator[Chain]:
    chain_.tester.revert_to_snapshot(chain_.snapshot)
    chain_.tester.enable_auto_mine_transactions()
    yield chain_
    chain_.tester.enable_auto_mine_transactions()


def _rewards(book: Ledger, clock: FakeClock, minter: Any, *, fund_user: bool = True) -> Rewards:
    rewards = Rewards(book, clock=clock, minter=lambda: minter)
    rewards.redemptions.put_item(
        CatalogItem("azr-10", "Withdraw 10 AZR", ItemType.ONCHAIN_WITHDRAWAL, 10 * AZR)
    )
    if fund_user:
        fund(rewards, "u1", 4)
    return rewards


def _restart(rewards: Rewards, clock: FakeClock, chain: Chain, signer: int = 0) -> Rewards:
    """A new process: a fresh service and a fresh chain runtime over the same ledger."""
    minter = chain.minter(rewards.book.engine, signer)
    return Rewards(rewards.book, clock=clock, minter=lambda: minter)


class Crash(BaseException):
    """The process dies here (not an Exception: nothing on the way may catch it)."""


class CrashingMinter:
    """A ChainMinter that dies at one step: ``before_broadcast``, ``before_receipt`` or
    ``while_signing`` (then it runs ``during_sign`` and signs, without dying)."""

    def __init__(self, inner: ChainMinter, at: str, during_sign: Any = None) -> None:
        self.inner = inner
        self.at = at
        self.during_sign = during_sign
        self.discarded: list[SignedMint] = []
        self.broadcasts = 0

    def sign_mint(self, to: str, amount: int) -> SignedMint:
        if self.during_sign is not None:
            self.during_sign()
        return self.inner.sign_mint(to, amount)

    def broadcast(self, signed: SignedMint) -> None:
        if self.at == "before_broadcast":
            raise Crash
        self.broadcasts += 1
        self.inner.broadcast(signed)

    def discard(self, signed: SignedMint) -> None:
        self.discarded.append(signed)
        self.inner.discard(signed)

    def wait_mint(self, tx_hash: str) -> MintReceipt:
        if self.at == "before_receipt":
            raise Crash
        return self.inner.wait_mint(tx_hash)

    def inspect(self, signed: SignedMint) -> MintStatus:
        return self.inner.inspect(signed)

    def total_supply(self) -> int:
        return self.inner.total_supply()


def _crashing(chain: Chain, engine: Engine, at: str) -> CrashingMinter:
    return CrashingMinter(chain.minter(engine), at)


def _crash_in_process(rewards: Rewards, at: str) -> Redemption:
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    with pytest.raises(Crash):
        rewards.redemptions.process(held.id)
    return rewards.redemptions.get("u1", held.id)


def _assert_fulfilled(rewards: Rewards, chain: Chain, redemption_id: str, tx_hash: str) -> None:
    done = rewards.redemptions.get("u1", redemption_id)
    assert done.status is RedemptionStatus.FULFILLED, done
    assert done.mint_state is MintState.CONFIRMED and done.tx_hash == tx_hash
    assert (done.fulfilment or {}).get("tx_hash") == tx_hash
    assert chain.token().balance_of(USER_ADDRESS) == 10 * AZR
    assert rewards.book.balance(WITHDRAWN).balance == 10 * AZR
    assert rewards.earnings.balance("u1") == (10 * AZR, 10 * AZR)
    assert reconcile(rewards.book, chain.minter(rewards.book.engine)).ok


def _assert_voided(
    rewards: Rewards, chain: Chain, redemption_id: str, state: MintState | None
) -> None:
    failed = rewards.redemptions.get("u1", redemption_id)
    assert failed.status is RedemptionStatus.FAILED, failed
    assert failed.mint_state is state
    assert rewards.book.hold_state(failed.hold_entry_id or "").status is HoldStatus.VOIDED
    assert rewards.earnings.balance("u1") == (20 * AZR, 20 * AZR)
    assert chain.token().balance_of(USER_ADDRESS) == 0
    assert reconcile(rewards.book, chain.minter(rewards.book.engine)).ok


# --- the straight paths -----------------------------------------------------------------


def test_a_confirmed_mint_posts_the_hold(ledger_: Ledger, clock: FakeClock, chain: Chain) -> None:
    token = chain.token()
    rewards = _rewards(ledger_, clock, chain.minter(ledger_.engine))
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    done = rewards.redemptions.process(held.id)
    assert done.tx_hash
    _assert_fulfilled(rewards, chain, held.id, done.tx_hash)
    assert done.mint is not None and done.mint.signer == chain.accounts[0].address
    token.mint(USER_ADDRESS, 1)  # minted behind the ledger's back
    report = reconcile(rewards.book, chain.minter(ledger_.engine))
    assert not report.ok and report.total_supply == 10 * AZR + 1


def test_a_failed_mint_voids_the_hold_and_returns_the_tokens(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    # Account 1 lacks MINTER_ROLE: the simulation reverts, none signed.
    rewards = _rewards(ledger_, clock, chain.minter(ledger_.engine, 1))
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    failed = rewards.redemptions.process(held.id)
    assert failed.status is RedemptionStatus.FAILED and "mint" in (failed.reason or "")
    assert failed.mint is None and failed.tx_hash is None
    assert rewards.book.hold_state(held.hold_entry_id or "").status is HoldStatus.VOIDED
    assert rewards.earnings.balance("u1") == (20 * AZR, 20 * AZR)
    assert reconcile(rewards.book, chain.minter(ledger_.engine)).ok


def test_an_unmined_mint_is_finished_by_settle(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    rewards = _rewards(ledger_, clock, chain.minter(ledger_.engine))
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    chain.tester.disable_auto_mine_transactions()
    minting = rewards.redemptions.process(held.id)  # sent; the receipt wait times out
    assert minting.status is RedemptionStatus.MINTING
    assert minting.mint_state is MintState.SUBMITTED and minting.tx_hash
    with pytest.raises(Exception):
        rewards.redemptions.cancel("u1", held.id)
    again = _restart(rewards, clock, chain)
    again.redemptions.settle()  # not mined, nonce free: the same bytes again, still waiting
    assert again.redemptions.get("u1", held.id).status is RedemptionStatus.MINTING
    chain.tester.mine_blocks(1)
    report = reconcile(rewards.book, chain.minter(ledger_.engine))
    assert not report.ok and report.minting == 1  # in flight: the supply is ahead
    again.redemptions.settle()
    _assert_fulfilled(again, chain, held.id, minting.tx_hash)


def test_no_chain_configured_fails_cleanly(ledger_: Ledger, clock: FakeClock) -> None:
    rewards = Rewards(ledger_, clock=clock)  # no minter at all
    rewards.redemptions.put_item(
        CatalogItem("azr-10", "Withdraw 10 AZR", ItemType.ONCHAIN_WITHDRAWAL, 10 * AZR)
    )
    fund(rewards, "u1", 2)
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    assert rewards.redemptions.process(held.id).status is RedemptionStatus.FAILED
    assert rewards.earnings.balance("u1") == (10 * AZR, 10 * AZR)


# --- crashes ------------------------------------------------------------------------------


def test_crash_between_recording_and_broadcasting(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    rewards = _rewards(ledger_, clock, _crashing(chain, ledger_.engine, "before_broadcast"))
    recorded = _crash_in_process(rewards, "before_broadcast")
    assert recorded.status is RedemptionStatus.MINTING and recorded.mint_state is MintState.SIGNED
    assert recorded.mint is not None and recorded.tx_hash == recorded.mint.tx_hash
    assert chain.supply() == 0  # nothing reached the chain
    with pytest.raises(Exception):
        rewards.redemptions.cancel("u1", recorded.id)  # in flight: not the user's to cancel
    again = _restart(rewards, clock, chain)
    assert again.redemptions.settle() == 1  # not mined, nonce free: broadcast the same bytes
    _assert_fulfilled(again, chain, recorded.id, recorded.tx_hash or "")
    again.redemptions.settle()  # idempotent
    _assert_fulfilled(again, chain, recorded.id, recorded.tx_hash or "")


@pytest.mark.parametrize("mined_before_restart", [True, False])
def test_crash_between_broadcasting_and_the_receipt(
    ledger_: Ledger, clock: FakeClock, chain: Chain, mined_before_restart: bool
) -> None:
    if not mined_before_restart:
        chain.tester.disable_auto_mine_transactions()
    rewards = _rewards(ledger_, clock, _crashing(chain, ledger_.engine, "before_receipt"))
    sent = _crash_in_process(rewards, "before_receipt")
    assert sent.status is RedemptionStatus.MINTING and sent.mint_state is MintState.SUBMITTED
    again = _restart(rewards, clock, chain)
    again.redemptions.settle()
    if not mined_before_restart:  # in the pool: sent again (the node already has it), waits
        assert again.redemptions.get("u1", sent.id).status is RedemptionStatus.MINTING
        assert chain.supply() == 0
        chain.tester.mine_blocks(1)
        again.redemptions.settle()
    _assert_fulfilled(again, chain, sent.id, sent.tx_hash or "")
    assert chain.supply() == 10 * AZR  # minted once


def test_a_dropped_mint_voids_the_hold(ledger_: Ledger, clock: FakeClock, chain: Chain) -> None:
    rewards = _rewards(ledger_, clock, _crashing(chain, ledger_.engine, "before_broadcast"))
    recorded = _crash_in_process(rewards, "before_broadcast")
    assert recorded.mint is not None
    # Another transaction of the same key takes the recorded nonce (the node never saw ours).
    chain.token().approve(USER_ADDRESS, 1)
    again = _restart(rewards, clock, chain)
    again.redemptions.settle()
    _assert_voided(again, chain, recorded.id, MintState.DROPPED)
    assert "dropped" in (again.redemptions.get("u1", recorded.id).reason or "")
    with pytest.raises(MintPending):  # the recorded bytes can never be mined now
        chain.minter(ledger_.engine).broadcast(recorded.mint)
    assert chain.supply() == 0


def test_a_mint_reverted_on_chain_voids_the_hold(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    chain.token().grant_role(MINTER_ROLE, chain.accounts[2].address)
    minter = CrashingMinter(chain.minter(ledger_.engine, 2), "before_broadcast")
    rewards = _rewards(ledger_, clock, minter)
    recorded = _crash_in_process(rewards, "before_broadcast")  # simulated fine, then signed
    chain.token().revoke_role(MINTER_ROLE, chain.accounts[2].address)  # account 0's nonce
    again = _restart(rewards, clock, chain, signer=2)
    again.redemptions.settle()  # sent again, mined, reverted (no role any more)
    _assert_voided(again, chain, recorded.id, MintState.FAILED)
    assert "revert" in (again.redemptions.get("u1", recorded.id).reason or "")


def test_a_crash_before_signing_is_abandoned_after_a_grace(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    def die() -> None:
        raise Crash

    rewards = _rewards(
        ledger_, clock, CrashingMinter(chain.minter(ledger_.engine), "never", during_sign=die)
    )
    stuck = _crash_in_process(rewards, "while_signing")
    assert stuck.status is RedemptionStatus.MINTING and stuck.mint is None
    again = _restart(rewards, clock, chain)
    again.redemptions.settle()  # within the grace: may still be signing
    assert again.redemptions.get("u1", stuck.id).status is RedemptionStatus.MINTING
    clock.advance(seconds=MINT_GRACE_S + 1)
    again.redemptions.settle()  # nothing recorded, so nothing was sent: fail, tokens back
    _assert_voided(again, chain, stuck.id, None)
    assert "interrupted" in (again.redemptions.get("u1", stuck.id).reason or "")


def test_a_signer_slower_than_the_grace_loses_to_settle(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    """Settle abandons the row while the first request is still signing: that request's
    recording then fails, and it discards the signed mint instead of sending it."""
    other: list[Rewards] = []

    def settle_meanwhile() -> None:
        clock.advance(seconds=MINT_GRACE_S + 1)
        other[0].redemptions.settle()

    inner = chain.minter(ledger_.engine)
    minter = CrashingMinter(inner, "never", during_sign=settle_meanwhile)
    rewards = _rewards(ledger_, clock, minter)
    other.append(_restart(rewards, clock, chain))
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    after = rewards.redemptions.process(held.id)
    assert after.status is RedemptionStatus.FAILED and after.mint is None
    assert len(minter.discarded) == 1 and minter.broadcasts == 0
    assert chain.supply() == 0
    assert rewards.earnings.balance("u1") == (20 * AZR, 20 * AZR)
    # The discarded nonce left no gap: the next withdrawal of this process is mined.
    minter.during_sign = None
    second, _ = rewards.redemptions.request("u1", "azr-10", "w2", eth_address=USER_ADDRESS)
    done = rewards.redemptions.process(second.id)
    assert done.status is RedemptionStatus.FULFILLED
    assert done.mint is not None and done.mint.nonce == minter.discarded[0].nonce


@pytest.mark.parametrize("user_spent_meanwhile", [False, True])
def test_a_mint_confirmed_after_its_hold_expired_is_debited_late(
    ledger_: Ledger, clock: FakeClock, chain: Chain, user_spent_meanwhile: bool
) -> None:
    rewards = _rewards(ledger_, clock, _crashing(chain, ledger_.engine, "before_broadcast"))
    recorded = _crash_in_process(rewards, "before_broadcast")
    clock.advance(seconds=rewards.settings.withdrawal_hold_ttl_s + 1)
    # settle_one alone never ends a redemption whose mint is in flight...
    assert rewards.redemptions.settle_one(recorded.id).status is RedemptionStatus.MINTING
    # ...but the ledger's sweeper expires the hold regardless: the tokens are free again.
    assert rewards.book.expire_due_holds() == 1
    if user_spent_meanwhile:
        rewards.earnings.spend("u1", 15 * AZR, key="spend-it")
    again = _restart(rewards, clock, chain)
    again.redemptions.settle()  # sent, mined: 10 AZR are on chain now
    assert chain.supply() == 10 * AZR
    row = again.redemptions.get("u1", recorded.id)
    if user_spent_meanwhile:  # 5 AZR left: the debit is refused, the gap stays visible
        assert row.status is RedemptionStatus.MINTING and row.mint_state is MintState.CONFIRMED
        assert "debit refused" in (row.reason or "")
        report = reconcile(again.book, chain.minter(ledger_.engine))
        assert not report.ok and report.minting == 1
        fund(again, "u1", 1, prefix="topup")  # 10 AZR again: the next settle debits
        again.redemptions.settle()
        row = again.redemptions.get("u1", recorded.id)
    assert row.status is RedemptionStatus.FULFILLED
    assert (row.fulfilment or {}).get("late_entry_id")
    assert again.book.balance(WITHDRAWN).balance == 10 * AZR
    assert reconcile(again.book, chain.minter(ledger_.engine)).ok


def test_a_crash_after_the_chain_s_verdict_is_finished_by_settle(
    ledger_: Ledger, clock: FakeClock, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    rewards = _rewards(ledger_, clock, _crashing(chain, ledger_.engine, "before_broadcast"))
    recorded = _crash_in_process(rewards, "before_broadcast")
    chain.token().approve(USER_ADDRESS, 1)  # the nonce goes to another transaction
    again = _restart(rewards, clock, chain)

    def die(*_args: object) -> None:
        raise Crash

    with monkeypatch.context() as patched:  # dies after recording "dropped", before the void
        patched.setattr(again.book, "resolve_hold", die)
        with pytest.raises(Crash):
            again.redemptions.settle()
    row = again.redemptions.get("u1", recorded.id)
    assert row.status is RedemptionStatus.MINTING and row.mint_state is MintState.DROPPED
    again.redemptions.settle()
    _assert_voided(again, chain, recorded.id, MintState.DROPPED)


def test_a_bug_while_signing_propagates_and_keeps_the_hold(
    ledger_: Ledger, clock: FakeClock, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the minter's expected failures void a hold: a TypeError is a bug, not a refusal."""
    runtime = chain.runtime(ledger_.engine)
    rewards = _rewards(ledger_, clock, runtime.minter)
    held, _ = rewards.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise TypeError("a bug in the signing path")

    monkeypatch.setattr(runtime.token, "sign", broken)
    with pytest.raises(TypeError, match="a bug"):
        rewards.redemptions.process(held.id)
    row = rewards.redemptions.get("u1", held.id)
    assert row.status is RedemptionStatus.MINTING and row.mint is None
    assert rewards.book.hold_state(held.hold_entry_id or "").status is HoldStatus.PENDING
    assert rewards.earnings.balance("u1")[0] == 20 * AZR  # nothing returned, nothing lost
    assert chain.supply() == 0


def test_one_runtime_numbers_every_mint_from_one_sender(
    ledger_: Ledger, clock: FakeClock, chain: Chain
) -> None:
    """Two services of one process (the request path's, the maintenance thread's) share the
    runtime's minter, hence one sender: their mints take consecutive nonces."""
    runtime = chain.runtime(ledger_.engine)
    first = _rewards(ledger_, clock, runtime.minter)
    second = Rewards(first.book, clock=clock, minter=lambda: runtime.minter)
    a, _ = first.redemptions.request("u1", "azr-10", "w1", eth_address=USER_ADDRESS)
    b, _ = second.redemptions.request("u1", "azr-10", "w2", eth_address=USER_ADDRESS)
    done = [first.redemptions.process(a.id), second.redemptions.process(b.id)]
    assert all(d.status is RedemptionStatus.FULFILLED for d in done)
    nonces = [d.mint.nonce for d in done if d.mint is not None]
    assert len(nonces) == 2 and nonces[1] == nonces[0] + 1
    assert runtime.token.sender is runtime.sender is runtime.saga.sender
