"""The chain adapter against a real JSON-RPC node (anvil), as the service runs it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain import (
    ANCHOR_ROLE,
    AzoraToken,
    ChainUnavailable,
    RetryPolicy,
    TransactionReverted,
    TxSettings,
    connect,
    deploy_or_reuse,
)
from chain.localnode import start_anvil
from tests.integration.chain.conftest import ANVIL_SETTINGS
from tests.unit.chain import keccak_tree as ref

pytestmark = pytest.mark.integration


def leaves(n: int) -> list[bytes]:
    return [ref.leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def test_anchor_and_read_back(token: AzoraToken, w3: Web3) -> None:
    result = token.anchor(5, ref.root(leaves(5)))
    anchor = token.anchor_at(0)
    assert (anchor.tree_size, anchor.root) == (5, ref.root(leaves(5)))
    assert anchor.timestamp == w3.eth.get_block(result.block_number)["timestamp"]
    assert token.anchored_events()[0].tx_hash == result.tx_hash


def test_reverts_are_typed_with_custom_errors(
    token: AzoraToken, others: list[LocalAccount]
) -> None:
    token.anchor(5, b"\x05" * 32)
    with pytest.raises(TransactionReverted) as err:
        token.anchor(5, b"\x05" * 32)
    assert (err.value.error_name, err.value.error_args) == ("AzoraTreeSizeNotIncreasing", (5, 5))
    with pytest.raises(TransactionReverted) as err:
        token.anchor_at(1)
    assert (err.value.error_name, err.value.error_args) == ("AzoraAnchorIndexOutOfRange", (1, 1))
    with pytest.raises(TransactionReverted) as err:
        token.with_signer(others[0]).mint(others[0].address, 1)
    assert err.value.error_name == "AccessControlUnauthorizedAccount"
    with pytest.raises(TransactionReverted) as err:
        token.with_signer(others[0]).transfer(others[1].address, 1)
    assert err.value.error_name == "ERC20InsufficientBalance"


def test_failed_transaction_is_explained(token: AzoraToken) -> None:
    token.anchor(5, b"\x05" * 32)
    tx_hash = token.send("anchor", 4, b"\x04" * 32, [], simulate=False)
    with pytest.raises(TransactionReverted) as err:
        token.wait(tx_hash, "anchor")
    assert err.value.tx_hash == tx_hash
    assert err.value.error_name == "AzoraTreeSizeNotIncreasing"


def test_roles_mint_and_transfer(token: AzoraToken, others: list[LocalAccount]) -> None:
    worker = others[0]
    with pytest.raises(TransactionReverted):
        token.with_signer(worker).anchor(1, b"\x01" * 32)
    token.grant_role(ANCHOR_ROLE, worker.address)
    token.with_signer(worker).anchor(1, b"\x01" * 32)
    token.revoke_role(ANCHOR_ROLE, worker.address)
    assert not token.has_role(ANCHOR_ROLE, worker.address)

    token.mint(worker.address, 10**18)
    token.with_signer(worker).transfer(others[1].address, 4)
    assert token.balance_of(others[1].address) == 4
    assert token.total_supply() == 10**18


def test_inclusion_sweep_on_a_real_node(token: AzoraToken) -> None:
    log = leaves(24)
    sent = [
        token.send(
            "anchor",
            n,
            ref.root(log[:n]),
            ref.consistency(n - 1, log[:n]) if n > 1 else [],
            simulate=False,
        )
        for n in range(1, 25)
    ]
    token.wait(sent[-1], "anchor")
    assert token.anchor_count() == len(log)
    for n in range(1, len(log) + 1):
        for m in range(n):
            proof = ref.path(m, log[:n])
            assert token.verify_inclusion(n - 1, m, log[m], proof), (m, n)
            if proof:
                assert not token.verify_inclusion(n - 1, m, log[m], proof[:-1])
            assert not token.verify_inclusion(n - 1, m, log[(m + 1) % n], proof) or n == 1


def test_one_signer_from_many_threads_never_reuses_a_nonce(
    token: AzoraToken, others: list[LocalAccount]
) -> None:
    errors: list[BaseException] = []

    def mint_some() -> None:
        try:
            for _ in range(8):
                token.mint(others[2].address, 1)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=mint_some) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert token.balance_of(others[2].address) == 32


def test_a_new_process_continues_the_nonce(token: AzoraToken, w3: Web3) -> None:
    """A fresh binding (as after a restart) takes its nonce from the node's pending count."""
    log = ref.Log()
    token.anchor(*log.next_anchor(1))
    account = token.sender.account if token.sender else None
    assert account is not None
    restarted = AzoraToken.at(w3, token.address, account, settings=ANVIL_SETTINGS)
    restarted.anchor(*log.next_anchor(2))
    assert restarted.anchor_count() == 2


def test_state_survives_an_anvil_restart(tmp_path: Path, admin_account: LocalAccount) -> None:
    state, record = tmp_path / "chain" / "state.json", tmp_path / "deployments.json"
    log = leaves(6)
    with start_anvil(state_path=state) as node:
        first = deploy_or_reuse(
            connect(node.rpc_url), admin_account, record, settings=ANVIL_SETTINGS
        )
        first.token.anchor(6, ref.root(log))
    assert state.is_file()
    with start_anvil(state_path=state) as node:
        again = deploy_or_reuse(
            connect(node.rpc_url), admin_account, record, settings=ANVIL_SETTINGS
        )
        assert again.reused and again.deployment == first.deployment
        assert again.token.anchor_at(0).root == ref.root(log)
        assert again.token.verify_inclusion(0, 2, log[2], ref.path(2, log))
        grown = [*log, ref.leaf_hash(b"leaf 6")]
        # nonces continue after the restart
        again.token.anchor(7, ref.root(grown), ref.consistency(6, grown))


def test_outage_raises_chain_unavailable(admin_account: LocalAccount) -> None:
    node = start_anvil()
    settings = TxSettings(
        poll_interval_s=0.005, retry=RetryPolicy(attempts=2, initial_delay_s=0.01)
    )
    token, _ = AzoraToken.deploy(connect(node.rpc_url), admin_account, settings=settings)
    node.stop()
    with pytest.raises(ChainUnavailable):
        token.anchor_count()
    with pytest.raises(ChainUnavailable):
        token.anchor(1, b"\x01" * 32)
