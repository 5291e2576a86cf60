"""anchor / anchorCount / anchorAt: an append-only list of growing tree heads."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from chain import AzoraToken, TransactionReverted
from chain.token import UINT64_MAX
from tests.unit.chain.conftest import InProcessChain


def root_of(n: int) -> bytes:
    return n.to_bytes(32, "big")


def test_starts_empty(admin: AzoraToken) -> None:
    assert admin.anchor_count() == 0


def test_anchor_stores_size_root_and_block_time(
    admin: AzoraToken, chain_env: InProcessChain
) -> None:
    result = admin.anchor(5, root_of(5))
    block = chain_env.w3.eth.get_block(result.block_number)
    anchor = admin.anchor_at(0)
    assert (anchor.index, anchor.tree_size, anchor.root) == (0, 5, root_of(5))
    assert anchor.timestamp == block["timestamp"]
    assert admin.anchor_count() == 1


def test_anchor_emits_anchored(admin: AzoraToken, chain_env: InProcessChain) -> None:
    admin.anchor(3, root_of(3))
    result = admin.anchor(8, root_of(8))
    logs = admin.contract.events.Anchored().process_receipt(chain_env.receipt(result.tx_hash))
    assert [dict(log["args"]) for log in logs] == [{"index": 1, "treeSize": 8, "root": root_of(8)}]
    assert [(e.index, e.tree_size, e.root) for e in admin.anchored_events()] == [
        (0, 3, root_of(3)),
        (1, 8, root_of(8)),
    ]


def test_many_anchors_read_back_in_order(admin: AzoraToken) -> None:
    sizes = [1, 2, 3, 7, 8, 100, 2**40, UINT64_MAX]
    for size in sizes:
        admin.anchor(size, root_of(size))
    assert admin.anchor_count() == len(sizes)
    assert [admin.anchor_at(i).tree_size for i in range(len(sizes))] == sizes
    assert [admin.anchor_at(i).root for i in range(len(sizes))] == [root_of(s) for s in sizes]


@pytest.mark.parametrize("size", [0])
def test_first_anchor_needs_a_leaf(admin: AzoraToken, size: int) -> None:
    with pytest.raises(TransactionReverted) as err:
        admin.send("anchor", size, root_of(1))
    assert err.value.error_name == "AzoraTreeSizeNotIncreasing"
    assert err.value.error_args == (0, 0)


@pytest.mark.parametrize("size", [10, 9, 1])
def test_equal_or_smaller_size_reverts(admin: AzoraToken, size: int) -> None:
    admin.anchor(10, root_of(10))
    with pytest.raises(TransactionReverted) as err:
        admin.anchor(size, root_of(size))
    assert err.value.error_name == "AzoraTreeSizeNotIncreasing"
    assert err.value.error_args == (size, 10)
    assert admin.anchor_count() == 1


def test_reverted_anchor_sent_without_simulation_fails_on_chain(admin: AzoraToken) -> None:
    admin.anchor(10, root_of(10))
    tx_hash = admin.send("anchor", 10, root_of(10), simulate=False)
    with pytest.raises(TransactionReverted) as err:
        admin.wait(tx_hash, "anchor")
    assert err.value.tx_hash == tx_hash
    assert err.value.error_name == "AzoraTreeSizeNotIncreasing"
    assert admin.anchor_count() == 1


@pytest.mark.parametrize("index", [0, 1, 2**256 - 1])
def test_anchor_at_out_of_range_reverts(admin: AzoraToken, index: int) -> None:
    if index:
        admin.anchor(1, root_of(1))
    with pytest.raises(TransactionReverted) as err:
        admin.anchor_at(index)
    assert err.value.error_name == "AzoraAnchorIndexOutOfRange"
    assert err.value.error_args == (index, 1 if index else 0)


def test_local_bounds_on_anchor_arguments(admin: AzoraToken) -> None:
    with pytest.raises(ValueError, match="tree_size"):
        admin.anchor(0, root_of(1))
    with pytest.raises(ValueError, match="root"):
        admin.anchor(1, b"\x01" * 31)


def calldata_gas(env: InProcessChain, tx_hash: str) -> int:
    data = bytes(env.w3.eth.get_transaction(tx_hash)["input"])  # type: ignore[arg-type]
    return sum(16 if byte else 4 for byte in data)


def test_anchor_gas_is_flat_and_within_target(admin: AzoraToken, chain_env: InProcessChain) -> None:
    """After the first anchor, gas less calldata depends only on the index's parity, never on
    the tree size; the average of a pair stays within the 70k target."""
    first = admin.anchor(1, root_of(1)).gas_used
    sizes = (2, 3, 2**20, 2**20 + 1, 2**40, 2**63, 2**64 - 1)
    results = [admin.anchor(size, keccak(size.to_bytes(8, "big"))) for size in sizes]
    execution = [r.gas_used - calldata_gas(chain_env, r.tx_hash) for r in results]
    odd, even = execution[0::2], execution[1::2]  # anchor indexes 1, 3, 5, 7 and 2, 4, 6
    assert len(set(odd)) == 1 and len(set(even)) == 1, execution
    assert first > max(r.gas_used for r in results)
    gas = [r.gas_used for r in results]
    assert (max(gas[0::2]) + max(gas[1::2])) / 2 <= 70_000, gas
