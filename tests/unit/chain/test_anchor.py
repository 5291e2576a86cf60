"""anchor / anchorCount / anchorAt: an append-only list of tree heads, each proven on chain to
extend the one before (RFC 9162 consistency proofs)."""

from __future__ import annotations

import pytest

from chain import AzoraToken, TransactionReverted
from chain.token import UINT64_MAX
from tests.unit.chain import keccak_tree as ref
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
    log = ref.Log()
    admin.anchor(*log.next_anchor(3))
    result = admin.anchor(*log.next_anchor(8))
    logs = admin.contract.events.Anchored().process_receipt(chain_env.receipt(result.tx_hash))
    assert [dict(log["args"]) for log in logs] == [{"index": 1, "treeSize": 8, "root": log.root(8)}]
    assert [(e.index, e.tree_size, e.root) for e in admin.anchored_events()] == [
        (0, 3, log.root(3)),
        (1, 8, log.root(8)),
    ]


def test_many_anchors_read_back_in_order(admin: AzoraToken) -> None:
    sizes = [1, 2, 3, 7, 8, 100, 129, 300]
    log = ref.Log()
    for size in sizes:
        admin.anchor(*log.next_anchor(size))
    assert admin.anchor_count() == len(sizes)
    assert [admin.anchor_at(i).tree_size for i in range(len(sizes))] == sizes
    assert [admin.anchor_at(i).root for i in range(len(sizes))] == [log.root(s) for s in sizes]


def test_a_first_anchor_may_have_any_size_up_to_uint64(admin: AzoraToken) -> None:
    admin.anchor(UINT64_MAX, root_of(1))  # nothing to be consistent with yet
    assert admin.anchor_at(0).tree_size == UINT64_MAX


def test_the_first_anchor_takes_no_proof(admin: AzoraToken) -> None:
    with pytest.raises(TransactionReverted) as err:
        admin.anchor(2, root_of(2), [root_of(1)])
    assert (err.value.error_name, err.value.error_args) == ("AzoraFirstAnchorTakesNoProof", (1,))


@pytest.mark.parametrize("how", ["empty", "bit flip", "truncated", "extended", "other root"])
def test_an_anchor_that_does_not_extend_the_last_reverts(admin: AzoraToken, how: str) -> None:
    log = ref.Log()
    admin.anchor(*log.next_anchor(5))
    size, root, proof = log.next_anchor(13)
    if how == "empty":
        proof = []
    elif how == "bit flip":
        proof = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    elif how == "truncated":
        proof = proof[:-1]
    elif how == "extended":
        proof = [*proof, root]
    else:
        root = ref.Log(13, tag="rewritten").root(13)
    with pytest.raises(TransactionReverted) as err:
        admin.anchor(size, root, proof)
    assert (err.value.error_name, err.value.error_args) == ("AzoraInconsistentAnchor", (5, 13))
    assert admin.anchor_count() == 1


def test_a_rewritten_history_is_refused_even_with_its_own_valid_proof(admin: AzoraToken) -> None:
    honest, forged = ref.Log(), ref.Log(tag="forged")
    admin.anchor(*honest.next_anchor(6))
    forged.anchored = 6  # a proof 6 -> 9 that is valid for the forged log, not for the chain's
    with pytest.raises(TransactionReverted, match="AzoraInconsistentAnchor"):
        admin.anchor(*forged.next_anchor(9))
    admin.anchor(*honest.next_anchor(9))
    assert admin.anchor_count() == 2


@pytest.mark.parametrize("size", [0])
def test_first_anchor_needs_a_leaf(admin: AzoraToken, size: int) -> None:
    with pytest.raises(TransactionReverted) as err:
        admin.send("anchor", size, root_of(1), [])
    assert err.value.error_name == "AzoraTreeSizeNotIncreasing"
    assert err.value.error_args == (0, 0)


@pytest.mark.parametrize("size", [10, 9, 1])
def test_equal_or_smaller_size_reverts(admin: AzoraToken, size: int) -> None:
    admin.anchor(*ref.Log().next_anchor(10))
    with pytest.raises(TransactionReverted) as err:
        admin.anchor(size, root_of(size))
    assert err.value.error_name == "AzoraTreeSizeNotIncreasing"
    assert err.value.error_args == (size, 10)
    assert admin.anchor_count() == 1


def test_reverted_anchor_sent_without_simulation_fails_on_chain(admin: AzoraToken) -> None:
    admin.anchor(*ref.Log().next_anchor(10))
    tx_hash = admin.send("anchor", 10, root_of(10), [], simulate=False)
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
    with pytest.raises(ValueError, match="proof node"):
        admin.anchor(2, b"\x01" * 32, [b"\x02" * 31])
    with pytest.raises(ValueError, match="65 nodes"):
        admin.anchor(2, b"\x01" * 32, [b"\x02" * 32] * 66)


def calldata_gas(env: InProcessChain, tx_hash: str) -> int:
    data = bytes(env.w3.eth.get_transaction(tx_hash)["input"])  # type: ignore[arg-type]
    return sum(16 if byte else 4 for byte in data)


def test_anchor_gas_is_near_flat_in_tree_size_and_within_target(admin: AzoraToken) -> None:
    """After the first anchor, gas depends on the index's parity and grows with the proof's
    length only (calldata and hashing, O(log n)): a later anchor averages <= 85k, and a
    node of proof costs about 1k whatever the size."""
    log = ref.Log()
    admin.anchor(*log.next_anchor(1))
    results = []
    for size in range(2, 42):
        n, root, proof = log.next_anchor(size)
        results.append((len(proof), admin.anchor(n, root, proof).gas_used))
    gas = [g for _, g in results]
    assert sum(gas) / len(gas) <= 85_000, results
    by_parity = [results[0::2], results[1::2]]  # anchor indexes 1, 3, ... and 2, 4, ...
    for half in by_parity:
        shortest, longest = min(half), max(half)
        if longest[0] > shortest[0]:
            per_node = (longest[1] - shortest[1]) / (longest[0] - shortest[0])
            assert 500 <= per_node <= 1_500, half
