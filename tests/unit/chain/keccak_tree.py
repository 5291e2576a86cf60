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


def consistency(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 section 2.1.4.1 (0 < m <= n), from SUBPROOF."""
    assert 0 < m <= len(leaves)
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def consistent(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes], leaves: Sequence[bytes]
) -> bool:
    """The naive verdict for a claim about the known ``leaves``: true exactly when the claim
    is the honest one (both roots right, the proof the one SUBPROOF gives), for 0 < m < n."""
    if not 0 < m < n <= len(leaves):
        return False
    honest = (root(leaves[:m]), root(leaves[:n]), consistency(m, leaves[:n]))
    return (root_m, root_n, list(proof)) == honest


class Log:
    """A growing list of leaf hashes with what ``anchor`` needs for each new size."""

    def __init__(self, size: int = 0, tag: str = "leaf") -> None:
        self.tag = tag
        self.leaves: list[bytes] = []
        self.grow(size)
        self.anchored = 0

    def grow(self, count: int) -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"{self.tag} {i}".encode()) for i in range(start, start + count)]

    def root(self, n: int) -> bytes:
        return root(self.leaves[:n])

    def next_anchor(self, n: int) -> tuple[int, bytes, list[bytes]]:
        """(size, root, proof) to anchor ``n`` after the last anchored size; grows as needed."""
        if n > len(self.leaves):
            self.grow(n - len(self.leaves))
        proof = consistency(self.anchored, self.leaves[:n]) if self.anchored else []
        self.anchored = n
        return n, self.root(n), proof
