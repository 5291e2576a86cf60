"""DESIGN §14's known limit, shown and bounded.

An RFC 9162 consistency proof does not pin the new tree size: the proof 40 -> 41 with the
root of 41 also verifies for a claimed size 42..48, on chain as off chain. Such an anchor
cannot rewrite history (the next honest anchor, and every inclusion proof against it, fail),
and the worker never sends one: it also checks the last leaf's inclusion at the size it
claims, whose path shape only the true size gives (property below, exhaustive to 256).
"""

from __future__ import annotations

import pytest

from chain import AzoraToken, TransactionReverted
from ledger.merkle import MemoryTree, verify_consistency, verify_inclusion
from tests.unit.chain import keccak_tree as ref

PIN_CHECKED_UP_TO = 256


def test_a_consistency_proof_does_not_pin_the_new_size() -> None:
    log = ref.Log(41)
    proof = ref.consistency(40, log.leaves)
    accepted = [
        n for n in range(41, 60) if verify_consistency(40, n, log.root(40), log.root(41), proof)
    ]
    assert accepted == list(range(41, 49))


def test_the_contract_accepts_an_unpinned_size_but_history_stays_protected(
    admin: AzoraToken,
) -> None:
    log = ref.Log(50)
    admin.anchor(*log.next_anchor(40))
    # Claim 42 with the root and proof of 41: the contract cannot tell (the limit).
    admin.anchor(42, log.root(41), ref.consistency(40, log.leaves[:41]))
    assert admin.anchor_at(1).tree_size == 42
    # The next honest anchor fails against it: the forged head cannot be built upon...
    with pytest.raises(TransactionReverted, match="AzoraInconsistentAnchor"):
        admin.anchor(50, log.root(50), ref.consistency(42, log.leaves[:50]))
    # ...and no inclusion proof of the real tree of 42 verifies against it.
    leaf = 41
    assert not admin.verify_inclusion(1, leaf, log.leaves[leaf], ref.path(leaf, log.leaves[:42]))


def test_the_last_leaf_s_inclusion_pins_the_size() -> None:
    """For every n, the path of leaf n-1 in the tree of n verifies at size n and at no
    other size up to 2n + 1: the worker's extra check rejects every unpinned claim."""
    tree = MemoryTree()
    tree.extend(ref.Log(2 * PIN_CHECKED_UP_TO + 2).leaves)
    for n in range(1, PIN_CHECKED_UP_TO + 1):
        leaf = tree.get_node(0, n - 1)
        path = tree.inclusion_proof(n - 1, n)
        root = tree.root(n)
        assert verify_inclusion(n - 1, n, leaf, path, root)
        for other in range(n + 1, 2 * n + 2):
            assert not verify_inclusion(n - 1, other, leaf, path, root), (n, other)


def test_the_sizes_a_consistency_proof_accepts_stay_below_twice_the_true_size() -> None:
    """So the pin check above (sizes up to 2n + 1) covers every size a proof could claim."""
    log = ref.Log(200)
    tree = MemoryTree()
    tree.extend(log.leaves)
    for n in range(2, 49):
        for m in range(1, n):
            proof = tree.consistency_proof(m, n)
            claims = [
                c
                for c in range(m + 1, 3 * n + 2)
                if verify_consistency(m, c, tree.root(m), tree.root(n), proof)
            ]
            assert n in claims and max(claims) <= 2 * n + 1, (m, n, claims)
