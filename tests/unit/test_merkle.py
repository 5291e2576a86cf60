"""ledger.merkle against the naive RFC 9162 reference, exhaustively and with Hypothesis."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    NodeId,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
    leaf_hash,
    node_hash,
    range_nodes,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

try:
    from tests.unit import merkle_reference as ref
except ImportError:  # pytest's default "prepend" import mode puts tests/unit on sys.path
    import merkle_reference as ref  # type: ignore[import-not-found, no-redef]

EXHAUSTIVE_SIZE = 64
HYPOTHESIS_SIZE = 2_000
KECCAK_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


def make_leaf(i: int) -> bytes:
    return f'{{"entry":"e{i}","seq":{i}}}'.encode()


@functools.cache
def leaves(n: int) -> tuple[bytes, ...]:
    return tuple(make_leaf(i) for i in range(n))


@functools.cache
def tree(n: int) -> MemoryTree:
    """A store of n leaves; it serves proofs for every size up to n (past sizes included)."""
    t = MemoryTree()
    t.extend(leaf_hash(leaf) for leaf in leaves(n))
    return t


class BoundedStore:
    """Wraps a store; fails the test if a node outside [0, size) or a non-perfect one is read."""

    def __init__(self, store: MemoryTree, size: int) -> None:
        self.store, self.size, self.reads = store, size, 0

    def get_node(self, level: int, index: int) -> bytes:
        assert level >= 0 and index >= 0
        assert NodeId(level, index).end <= self.size, f"read ({level}, {index}) past {self.size}"
        self.reads += 1
        return self.store.get_node(level, index)


# --- hashing: known answers -----------------------------------------------------------------


def test_empty_root_is_keccak_of_empty_string() -> None:
    assert EMPTY_ROOT == KECCAK_EMPTY
    assert merkle.root([]) == KECCAK_EMPTY == ref.mth([])
    assert MemoryTree().root() == CompactRange().root() == KECCAK_EMPTY


def test_leaf_and_node_hashes_use_domain_prefixes() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert a == merkle.keccak256(b"\x00a")
    assert node_hash(a, b) == merkle.keccak256(b"\x01" + a + b)
    assert leaf_hash(b"") == merkle.keccak256(b"\x00")


def test_size_one_tree() -> None:
    h = leaf_hash(make_leaf(0))
    assert merkle.root([h]) == h == tree(1).root()
    assert inclusion_proof(0, 1, tree(1).get_node) == []
    assert verify_inclusion(0, 1, h, [], h)
    assert not verify_inclusion(0, 1, h, [h], h)
    assert consistency_proof(1, 1, tree(1).get_node) == []
    assert verify_consistency(1, 1, h, h, [])


@pytest.mark.parametrize("n", range(EXHAUSTIVE_SIZE + 2))
def test_roots_match_reference(n: int) -> None:
    want = ref.mth(leaves(n))
    hashes = [leaf_hash(leaf) for leaf in leaves(n)]
    assert merkle.root(hashes) == want
    assert tree(EXHAUSTIVE_SIZE + 2).root(n) == want
    assert tree(n).root() == want


# --- exhaustive cross-checks ----------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, EXHAUSTIVE_SIZE + 1))
def test_inclusion_all_indices(size: int) -> None:
    store = BoundedStore(tree(EXHAUSTIVE_SIZE), size)
    root = ref.mth(leaves(size))
    for index in range(size):
        proof = inclusion_proof(index, size, store.get_node)
        assert proof == ref.path(index, leaves(size)), (index, size)
        h = leaf_hash(make_leaf(index))
        assert verify_inclusion(index, size, h, proof, root), (index, size)
        assert root_from_inclusion(index, size, h, proof) == root


@pytest.mark.parametrize("n", range(1, EXHAUSTIVE_SIZE + 1))
def test_consistency_all_pairs(n: int) -> None:
    store = BoundedStore(tree(EXHAUSTIVE_SIZE), n)
    root_n = ref.mth(leaves(n))
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, store.get_node)
        assert proof == ref.proof(m, leaves(n)), (m, n)
        assert verify_consistency(m, n, ref.mth(leaves(m)), root_n, proof), (m, n)


# --- Hypothesis over larger trees -----------------------------------------------------------


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, HYPOTHESIS_SIZE))
    return size, draw(st.integers(0, size - 1))


@settings(deadline=None, max_examples=60)
@given(size_and_index())
def test_inclusion_matches_reference(case: tuple[int, int]) -> None:
    size, index = case
    store = BoundedStore(tree(HYPOTHESIS_SIZE), size)
    proof = inclusion_proof(index, size, store.get_node)
    assert proof == ref.path(index, leaves(size))
    root = ref.mth(leaves(size))
    assert merkle.root_at(size, store.get_node) == root
    assert verify_inclusion(index, size, leaf_hash(make_leaf(index)), proof, root)
    assert store.reads <= 3 * size.bit_length()


@settings(deadline=None, max_examples=60)
@given(size_and_index())
def test_consistency_matches_reference(case: tuple[int, int]) -> None:
    n, m = case[0], case[1] + 1
    store = BoundedStore(tree(HYPOTHESIS_SIZE), n)
    proof = consistency_proof(m, n, store.get_node)
    assert proof == ref.proof(m, leaves(n))
    assert verify_consistency(m, n, ref.mth(leaves(m)), ref.mth(leaves(n)), proof)
    assert store.reads <= 3 * n.bit_length()


@settings(max_examples=300)
@given(st.integers(1, 1 << 63), st.data())
def test_plans_read_only_perfect_nodes_inside_the_tree(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    m = data.draw(st.integers(1, size))
    for plan in (inclusion_plan(index, size), consistency_plan(m, size)):
        ids = plan.node_ids
        assert len(ids) == len(set(ids)) <= 2 * size.bit_length()
        assert all(node.end <= size for node in ids)
        assert all(element for element in plan.elements)


@settings(max_examples=300)
@given(st.integers(0, 1 << 62), st.integers(0, 1 << 20))
def test_range_nodes_cover_range_exactly(begin: int, length: int) -> None:
    nodes = range_nodes(begin, begin + length)
    pos = begin
    for node in nodes:
        assert node.begin == pos
        pos = node.end
    assert pos == begin + length
    assert len(nodes) <= 2 * max(length.bit_length(), 1)


@settings(deadline=None, max_examples=20)
@given(st.integers(0, 300), st.integers(0, 300))
def test_compact_range_emits_each_perfect_node_once(n: int, more: int) -> None:
    frontier, emitted = CompactRange(), {}
    for i, leaf in enumerate(leaves(n)):
        for node in frontier.append(leaf_hash(leaf)):
            key = NodeId(node.level, node.index)
            assert key not in emitted and key.end == i + 1
            emitted[key] = node.hash
        assert frontier.size == i + 1
    assert frontier.root() == ref.mth(leaves(n))
    # Exactly the perfect nodes inside [0, n), each with the reference hash of its leaves.
    want = {NodeId(lv, ix) for lv in range(n.bit_length()) for ix in range(n >> lv)}
    assert set(emitted) == want
    for key, h in emitted.items():
        assert h == ref.mth(leaves(n)[key.begin : key.end])
    # Resuming from the store continues the same tree.
    resumed = CompactRange.from_store(n, lambda lv, ix: emitted[NodeId(lv, ix)])
    assert resumed.nodes() == frontier.nodes()
    for leaf in leaves(n + more)[n:]:
        resumed.append(leaf_hash(leaf))
    assert resumed.root() == ref.mth(leaves(n + more))


@given(
    st.integers(0, 100),
    st.integers(0, 100),
    st.lists(st.binary(min_size=0, max_size=40), max_size=10),
)
def test_verification_returns_false_on_garbage(index: int, size: int, proof: list[bytes]) -> None:
    h = leaf_hash(b"x")
    assert verify_inclusion(index, size, h, proof, h) is (size == 1 and index == 0 and not proof)
    if index >= 1:
        assert verify_consistency(index, size, h, h, proof) is (index == size and not proof)


# --- batch plans for a database -------------------------------------------------------------


def test_plan_assembles_from_one_batch() -> None:
    store = tree(1000)
    for index, size in [(0, 1000), (999, 1000), (511, 777), (700, 1000)]:
        plan = inclusion_plan(index, size)
        batch = {node: store.get_node(node.level, node.index) for node in plan.node_ids}
        assert plan.assemble(batch) == inclusion_proof(index, size, store.get_node)
    plan = consistency_plan(300, 1000)
    batch = {node: store.get_node(node.level, node.index) for node in plan.node_ids}
    assert plan.assemble(batch) == store.consistency_proof(300, 1000)


# --- preconditions --------------------------------------------------------------------------


def test_generation_preconditions() -> None:
    get = tree(8).get_node
    with pytest.raises(ValueError, match="index 8 out of range for tree size 8"):
        inclusion_proof(8, 8, get)
    with pytest.raises(ValueError, match="index"):
        inclusion_proof(-1, 8, get)
    with pytest.raises(ValueError, match="m 5 > n 4"):
        consistency_proof(5, 4, get)
    with pytest.raises(ValueError, match="m is 0"):
        consistency_proof(0, 4, get)
    with pytest.raises(ValueError, match="m is 0"):
        consistency_plan(0, 0)
    with pytest.raises(ValueError, match="want <= tree size 8"):
        tree(8).inclusion_proof(0, 9)
    with pytest.raises(LookupError, match=r"node \(0, 8\) not stored"):
        tree(8).get_node(0, 8)
    with pytest.raises(LookupError):
        tree(8).get_node(3, 1)
    with pytest.raises(ValueError, match="want at least one"):
        merkle.fold_right([])


def test_store_returning_garbage_is_refused() -> None:
    with pytest.raises(ValueError, match=r"get_node\(0, 1\): got 31 bytes"):
        inclusion_proof(0, 2, lambda level, index: b"\x00" * 31)


def test_malformed_hashes_raise() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ValueError, match="left: got 31 bytes, want a 32-byte hash"):
        node_hash(h[:31], h)
    with pytest.raises(ValueError, match="root"):
        verify_inclusion(0, 1, h, [], h + b"\x00")
    with pytest.raises(ValueError, match="leaf_hash"):
        verify_inclusion(0, 1, b"", [], h)
    with pytest.raises(ValueError, match="root_m"):
        verify_consistency(1, 2, b"", h, [h])
    with pytest.raises(ValueError, match="m is 0"):
        verify_consistency(0, 2, h, h, [h])
    with pytest.raises(ValueError, match="size"):
        verify_inclusion(0, -1, h, [], h)
    with pytest.raises(ValueError, match="leaf_hash"):
        CompactRange().append(b"short")
    with pytest.raises(ValueError, match=r"leaf_hashes\[1\]"):
        merkle.root([h, b"short"])


def test_wrong_proof_contents_do_not_raise() -> None:
    store = tree(8)
    h, r = leaf_hash(make_leaf(3)), store.root()
    proof = store.inclusion_proof(3, 8)
    assert verify_inclusion(3, 8, h, proof, r)
    assert not verify_inclusion(3, 8, h, [*proof[:-1], proof[-1][:31]], r)
    assert not verify_inclusion(8, 8, h, proof, r)  # index >= size: RFC says fail, not raise
    assert not verify_consistency(5, 4, r, r, proof)  # m > n: no proof can show it
    with pytest.raises(ValueError, match="does not fit"):
        root_from_inclusion(3, 8, h, proof[:-1])
    with pytest.raises(ValueError, match="out of range"):
        root_from_inclusion(8, 8, h, proof)


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    store = tree(8)
    r5, r8 = store.root(5), store.root(8)
    assert store.consistency_proof(5, 5) == []
    assert verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, r8, [])
    assert not verify_consistency(5, 5, r5, r5, [r5])


def test_overlong_proofs_are_refused_cheaply() -> None:
    h = leaf_hash(b"x")
    size = (1 << 64) - 1
    assert not verify_inclusion(size - 1, size, h, [h] * 66, h)
    assert not verify_consistency(3, size, h, h, [h] * 66)
    # The longest proofs that can exist are still accepted as input (and fail on hashes).
    assert len(inclusion_plan(0, size).elements) == 64
    assert len(consistency_plan(3, size).elements) <= merkle.verify.MAX_PROOF_HASHES
