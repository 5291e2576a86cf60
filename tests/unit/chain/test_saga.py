"""The chain-write saga's verdicts, one per state, on an in-process chain (eth-tester)."""

from __future__ import annotations

import pytest

from chain import AzoraToken
from chain.saga import ChainWrite, ChainWriteSaga, TxState, WrongChain
from chain.sender import SignedTx
from monetization.rewards.model import MintState
from tests.unit.chain.conftest import InProcessChain

TO = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"


def _saga(token: AzoraToken, chain: InProcessChain, depth: int = 1) -> ChainWriteSaga:
    assert token.sender is not None
    return ChainWriteSaga(token.sender, lambda: int(chain.w3.eth.block_number) - depth + 1)


def _write(token: AzoraToken, signed: SignedTx) -> ChainWrite:
    assert token.sender is not None
    return ChainWrite(
        token.sender.chain_id(), token.sender.address, signed.nonce, signed.raw, signed.tx_hash
    )


def test_one_vocabulary_for_anchors_and_mints() -> None:
    assert {s.name: s.value for s in TxState} == {s.name: s.value for s in MintState}
    assert {s for s in TxState if s.in_flight} == {TxState.SIGNED, TxState.SUBMITTED}


def test_signed_not_sent_is_resent_then_confirmed(
    admin: AzoraToken, chain_env: InProcessChain
) -> None:
    saga = _saga(admin, chain_env)
    signed = admin.sign("mint", TO, 1)
    verdict = saga.check(_write(admin, signed))
    assert (verdict.state, verdict.resend, verdict.gap) == (TxState.SUBMITTED, True, False)
    assert saga.advance(_write(admin, signed)).resend  # sent now
    assert saga.check(_write(admin, signed)).state is TxState.CONFIRMED
    assert admin.balance_of(TO) == 1


def test_mined_but_not_deep_enough_waits(admin: AzoraToken, chain_env: InProcessChain) -> None:
    saga = _saga(admin, chain_env, depth=3)
    tx_hash = admin.send("mint", TO, 1)
    signed = SignedTx(0, b"", tx_hash)
    write = ChainWrite(admin.sender.chain_id(), admin.sender.address, 0, b"", tx_hash)  # type: ignore[union-attr]
    verdict = saga.check(write)
    assert (verdict.state, verdict.resend) == (TxState.SUBMITTED, False), verdict
    chain_env.tester.mine_blocks(2)
    assert saga.check(write).state is TxState.CONFIRMED
    assert signed.tx_hash == tx_hash


def test_a_mined_revert_is_failed(admin: AzoraToken, chain_env: InProcessChain) -> None:
    saga = _saga(admin, chain_env)
    admin.anchor(3, b"\x03" * 32)
    tx_hash = admin.send("anchor", 2, b"\x02" * 32, [], simulate=False)  # not increasing
    write = ChainWrite(admin.sender.chain_id(), admin.sender.address, 0, b"", tx_hash)  # type: ignore[union-attr]
    assert saga.check(write).state is TxState.FAILED


def test_a_nonce_taken_by_another_transaction_is_dropped(
    admin: AzoraToken, chain_env: InProcessChain
) -> None:
    saga = _saga(admin, chain_env)
    signed = admin.sign("mint", TO, 1)  # recorded, never sent
    other = chain_env.token(0)  # another process with the same key takes the nonce
    other.approve(TO, 1)
    verdict = saga.check(_write(admin, signed))
    assert verdict.state is TxState.DROPPED and "used by another" in verdict.detail


def test_a_write_for_another_chain_is_not_judged(
    admin: AzoraToken, chain_env: InProcessChain
) -> None:
    saga = _saga(admin, chain_env)
    signed = admin.sign("mint", TO, 1)
    write = _write(admin, signed)
    with pytest.raises(WrongChain):
        saga.check(
            ChainWrite(write.chain_id + 1, write.signer, write.nonce, write.raw, write.tx_hash)
        )


def test_released_nonces_are_reused_lowest_first(
    admin: AzoraToken, chain_env: InProcessChain
) -> None:
    sender = admin.sender
    assert sender is not None
    a, b, c = (admin.sign("mint", TO, i + 1) for i in range(3))
    assert [a.nonce, b.nonce, c.nonce] == [a.nonce, a.nonce + 1, a.nonce + 2]
    sender.release(b)  # a hole in the middle
    sender.release(b)  # twice: no effect
    d = admin.sign("mint", TO, 9)
    assert d.nonce == b.nonce
    sender.release(c)  # the top: the counter goes back
    e = admin.sign("mint", TO, 10)
    assert e.nonce == c.nonce
    for signed in (a, d, e):
        sender.broadcast(signed)
    assert sender.confirmed_nonce() == e.nonce + 1
    assert admin.balance_of(TO) == 1 + 9 + 10
