"""The sizes a consistency proof proves (DESIGN §14's known limit), against brute force."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import MemoryTree, leaf_hash, verify_consistency
from ledger.tlog import consistency_sizes, pinned

BRUTE_FORCE_UP_TO = 48


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    built = MemoryTree()
    built.extend([leaf_hash(i.to_bytes(4, "big")) for i in range(4 * 1024)])
    return built


def accepted(tree: MemoryTree, m: int, n: int, claims: range) -> list[int]:
    proof = tree.consistency_proof(m, n)
    return [c for c in claims if verify_consistency(m, c, tree.root(m), tree.root(n), proof)]


def test_every_pair_agrees_with_brute_force(tree: MemoryTree) -> None:
    for n in range(2, BRUTE_FORCE_UP_TO + 1):
        for m in range(1, n):
            claims = range(m + 1, 3 * n + 2)
            assert accepted(tree, m, n, claims) == list(consistency_sizes(m, n)), (m, n)


def test_the_designs_example() -> None:
    assert consistency_sizes(40, 41) == range(41, 49)
    assert not pinned(40, 41)


@given(st.integers(1, 1023), st.integers(1, 1024))
@settings(max_examples=60, deadline=None)
def test_larger_trees_agree_near_the_range(tree: MemoryTree, m: int, extra: int) -> None:
    n = m + extra
    sizes = consistency_sizes(m, n)
    assert n in sizes
    window = range(max(m + 1, sizes.start - 3), sizes.stop + 3)
    assert accepted(tree, m, n, window) == [c for c in window if c in sizes]


@given(st.integers(1, 2**40), st.integers(1, 2**40))
def test_a_size_is_pinned_only_one_past_an_odd_size(m: int, extra: int) -> None:
    n = m + extra
    assert pinned(m, n) == (m % 2 == 1 and n == m + 1)


@pytest.mark.parametrize(("m", "n"), [(0, 1), (5, 5), (6, 5)])
def test_pairs_without_a_proof_are_refused(m: int, n: int) -> None:
    with pytest.raises(ValueError):
        consistency_sizes(m, n)
