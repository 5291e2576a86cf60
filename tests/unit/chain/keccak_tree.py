"""A naive RFC 9162 Merkle tree with keccak256, written from the RFC's recursive definitions.

Independent of the contract's iterative verifier and of ledger/merkle.py on purpose: the
tests cross-check the contract against this, so it favours obviousness over speed.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.crypto import keccak


def leaf_hash(leaf: bytes) -> bytes:
    return keccak(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return keccak(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1, from leaf hashes."""
    n = len(leaves)
    if n == 0:
        return keccak(b"")
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1: siblings from the leaf up."""
    n = len(leaves)
    assert 0 <= m < n
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*path(m, leaves[:k]), root(leaves[k:])]
    return [*path(m - k, leaves[k:]), root(leaves[:k])]


def root_from_path(m: int, n: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """Walks the tree shape top-down to rebuild the root; None when the proof has the wrong
    length for (m, n). A proof is valid iff this equals the tree's root."""
    if not 0 <= m < n:
        return None
    if n == 1:
        return leaf if not proof else None
    if not proof:
        return None
    k = _split(n)
    sibling, rest = proof[-1], proof[:-1]
    if m < k:
        below = root_from_path(m, k, leaf, rest)
        return None if below is None else node_hash(below, sibling)
    below = root_from_path(m - k, n - k, leaf, rest)
    return None if below is None else node_hash(sibling, below)


def verify(m: int, n: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> bool:
    return root_from_path(m, n, leaf, proof) == expected_root
