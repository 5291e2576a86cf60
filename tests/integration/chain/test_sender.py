"""The one sender's nonce bookkeeping on a real node: gaps closed, refusals given back."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import Wei

from chain import ChainError
from chain.sender import TransactionSender
from tests.integration.chain.conftest import ANVIL_SETTINGS

pytestmark = pytest.mark.integration


def _to_self(sender: TransactionSender) -> dict[str, object]:
    return {"to": sender.address, "value": 0}


@pytest.fixture
def key(w3: Web3, admin_account: LocalAccount) -> LocalAccount:
    """A fresh funded account per test, so nonces start at 0."""
    account: LocalAccount = Account.create()
    funder = TransactionSender(w3, admin_account, ANVIL_SETTINGS)
    funder.wait(funder.send({"to": account.address, "value": 10**18}, 21_000))  # type: ignore[typeddict-item]
    return account


def test_a_gap_below_a_sent_transaction_is_closed_from_the_outbox(
    w3: Web3, key: LocalAccount
) -> None:
    sender = TransactionSender(w3, key, ANVIL_SETTINGS)
    first = sender.sign(_to_self(sender), 21_000)  # type: ignore[arg-type]
    second = sender.sign(_to_self(sender), 21_000)  # type: ignore[arg-type]
    sender.broadcast(second)  # queued behind a nonce the node never saw
    assert sender.pending_nonce() == first.nonce == 0
    assert sender.close_gap(second.nonce) == []  # the first was still ours to send
    sender.wait(second.tx_hash)
    assert sender.confirmed_nonce() == 2
    assert sender.receipt(first.tx_hash) is not None


def test_a_gap_nobody_can_send_is_filled_with_a_no_op(w3: Web3, key: LocalAccount) -> None:
    crashed = TransactionSender(w3, key, ANVIL_SETTINGS)
    lost = crashed.sign({"to": crashed.address, "value": Wei(1)}, 21_000)
    waiting = crashed.sign(_to_self(crashed), 21_000)  # type: ignore[arg-type]
    crashed.broadcast(waiting)
    restarted = TransactionSender(w3, key, ANVIL_SETTINGS)  # the outbox died with the process
    assert restarted.close_gap(waiting.nonce) == [lost.nonce]
    restarted.wait(waiting.tx_hash)
    assert restarted.confirmed_nonce() == 2
    assert restarted.receipt(lost.tx_hash) is None  # its nonce went to the no-op


def test_a_refused_send_gives_its_nonce_back(w3: Web3) -> None:
    poor = TransactionSender(w3, Account.create(), ANVIL_SETTINGS)  # no funds at all
    with pytest.raises(ChainError, match="refused"):
        poor.send(_to_self(poor), 21_000)  # type: ignore[arg-type]
    again = poor.sign(_to_self(poor), 21_000)  # type: ignore[arg-type]
    assert again.nonce == 0  # no gap left behind
