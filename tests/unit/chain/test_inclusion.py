"""verifyInclusion against an independent reference, for every leaf of every tree size 1-70.

One log of 70 leaves is anchored at every size 1..70 (anchor index n-1 has size n); all
checks are eth_calls, so the sweep is quick. Corrupted proofs must give false, not revert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain import AzoraToken
from tests.unit.chain import keccak_tree as ref
from tests.unit.chain.conftest import InProcessChain

MAX_SIZE = 70


@dataclass(frozen=True)
class AnchoredLog:
    token: AzoraToken
    leaves: list[bytes]  # leaf hashes
    chain: InProcessChain
    snapshot: int

    def roots(self, n: int) -> bytes:
        return ref.root(self.leaves[:n])

    def proof(self, m: int, n: int) -> list[bytes]:
        return ref.path(m, self.leaves[:n])


@pytest.fixture(scope="module")
def log70(tester_chain: InProcessChain) -> AnchoredLog:
    tester_chain.tester.revert_to_snapshot(tester_chain.deployed_snapshot)
    token = tester_chain.token(0)
    leaves = [ref.leaf_hash(f'{{"entry":"e{i}","seq":{i}}}'.encode()) for i in range(MAX_SIZE)]
    for n in range(1, MAX_SIZE + 1):
        proof = ref.consistency(n - 1, leaves[:n]) if n > 1 else []
        token.send("anchor", n, ref.root(leaves[:n]), proof, simulate=False)
    assert token.anchor_count() == MAX_SIZE
    assert token.anchor_at(MAX_SIZE - 1).root == ref.root(leaves)
    return AnchoredLog(token, leaves, tester_chain, tester_chain.tester.take_snapshot())


@pytest.fixture(autouse=True)
def _restore_log(log70: AnchoredLog) -> None:
    """Tests of other modules may run in between (pytest-xdist): come back to the log."""
    log70.chain.tester.revert_to_snapshot(log70.snapshot)


def flip_bit(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8 % 32] ^= 1 << (bit % 8)
    return bytes(out)


def test_reference_matches_rfc_shapes() -> None:
    """Sanity of the reference itself: sizes of proofs and the empty root."""
    leaves = [ref.leaf_hash(bytes([i])) for i in range(7)]
    assert ref.root([]) == keccak(b"")
    assert [len(ref.path(m, leaves)) for m in range(7)] == [3, 3, 3, 3, 3, 3, 2]
    assert ref.root(leaves[:2]) == ref.node_hash(leaves[0], leaves[1])


def test_every_leaf_of_every_size_verifies(log70: AnchoredLog) -> None:
    for n in range(1, MAX_SIZE + 1):
        root = log70.roots(n)
        for m in range(n):
            proof = log70.proof(m, n)
            assert ref.verify(m, n, log70.leaves[m], proof, root)
            assert log70.token.verify_inclusion(n - 1, m, log70.leaves[m], proof), (m, n)


def corruptions(
    log: AnchoredLog, m: int, n: int
) -> list[tuple[str, int, int, bytes, Sequence[bytes]]]:
    """(name, anchor index, leaf index, leaf hash, proof) variations of a valid proof."""
    leaf, proof, anchor = log.leaves[m], log.proof(m, n), n - 1
    cases: list[tuple[str, int, int, bytes, Sequence[bytes]]] = [
        ("leaf bit flip", anchor, m, flip_bit(leaf, m + n), proof),
        ("other leaf", anchor, m, log.leaves[(m + 1) % MAX_SIZE], proof),
        ("extra element", anchor, m, leaf, [*proof, leaf]),
        ("extra first element", anchor, m, leaf, [leaf, *proof]),
        ("index + 1", anchor, m + 1, leaf, proof),
    ]
    if m > 0:
        cases.append(("index - 1", anchor, m - 1, leaf, proof))
    if n < MAX_SIZE:
        cases.append(("size + 1", anchor + 1, m, leaf, proof))
    if n > 1 and m < n - 1:
        cases.append(("size - 1", anchor - 1, m, leaf, proof))
    if 1 < n <= MAX_SIZE // 2:
        cases.append(("size x 2", 2 * n - 1, m, leaf, proof))
    for j in sorted({0, len(proof) - 1} if proof else set()):
        bad = list(proof)
        bad[j] = flip_bit(bad[j], 8 * j + m)
        cases.append((f"node {j} bit flip", anchor, m, leaf, bad))
    if proof:
        cases.append(("truncated", anchor, m, leaf, proof[:-1]))
        cases.append(("first node dropped", anchor, m, leaf, proof[1:]))
        if proof != proof[::-1]:
            cases.append(("nodes reversed", anchor, m, leaf, proof[::-1]))
    return cases


def reference_says(
    log: AnchoredLog, anchor: int, m: int, leaf: bytes, proof: Sequence[bytes]
) -> bool:
    if not 0 <= anchor < MAX_SIZE:
        return False
    n = anchor + 1
    return ref.verify(m, n, leaf, proof, log.roots(n))


def test_corrupted_proofs_are_false(log70: AnchoredLog) -> None:
    checked = 0
    for n in range(1, MAX_SIZE + 1):
        for m in sorted({0, n - 1}):
            for name, anchor, index, leaf, proof in corruptions(log70, m, n):
                assert not reference_says(log70, anchor, index, leaf, proof), (name, m, n)
                got = log70.token.verify_inclusion(anchor, index, leaf, proof)
                assert got is False, (name, m, n)
                checked += 1
    assert checked > 1500


@pytest.mark.parametrize(
    ("name", "anchor", "index", "proof_nodes"),
    [
        ("anchor not there", MAX_SIZE, 3, None),
        ("anchor max", 2**256 - 1, 3, None),
        ("index = size", 9, 10, None),
        ("index max", 9, 2**64 - 1, None),
        ("proof of 65 nodes", 9, 3, 65),
        ("proof of 64 nodes", 9, 3, 64),
    ],
)
def test_out_of_range_inputs_are_false(
    log70: AnchoredLog, name: str, anchor: int, index: int, proof_nodes: int | None
) -> None:
    leaf, proof = log70.leaves[3], log70.proof(3, 10)
    if proof_nodes is not None:
        proof = [*proof, *[leaf] * (proof_nodes - len(proof))]
    fn = log70.token.contract.functions.verifyInclusion(anchor, index, leaf, proof)
    assert fn.call() is False, name  # straight to the contract, past the binding's checks
    assert log70.token.verify_inclusion(anchor, index, leaf, proof) is False, name


def test_malformed_arguments_are_false_locally(log70: AnchoredLog) -> None:
    leaf, proof = log70.leaves[0], log70.proof(0, 4)
    verify: Callable[..., bool] = log70.token.verify_inclusion
    assert verify(3, 0, leaf, proof)
    assert not verify(-1, 0, leaf, proof)
    assert not verify(3, -1, leaf, proof)
    assert not verify(3, 2**64, leaf, proof)
    assert not verify(3, 0, leaf[:31], proof)
    assert not verify(3, 0, leaf, [proof[0][:31], *proof[1:]])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=MAX_SIZE),
)
def test_agrees_with_reference_on_arbitrary_input(
    log70: AnchoredLog, data: st.DataObject, n: int
) -> None:
    """Random leaf index, leaf and proof (often a valid proof mutated): same answer."""
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = log70.proof(m, n)
    proof = data.draw(
        st.one_of(
            st.just(proof),
            st.lists(st.sampled_from([*proof, *log70.leaves[:3]]), max_size=8),
            st.lists(st.binary(min_size=32, max_size=32), max_size=8),
        )
    )
    index = data.draw(st.one_of(st.just(m), st.integers(min_value=0, max_value=2 * MAX_SIZE)))
    leaf = data.draw(st.sampled_from(log70.leaves))
    expected = reference_says(log70, n - 1, index, leaf, proof)
    assert log70.token.verify_inclusion(n - 1, index, leaf, proof) is expected
