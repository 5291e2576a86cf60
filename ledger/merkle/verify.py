"""Proof verification (RFC 9162 §2.1.3.2, §2.1.4.2), written to follow the RFC's steps.

Contract: a well-formed claim that the proof does not prove gives False, whatever the proof
holds (wrong hashes, wrong length, elements that are not 32 bytes). That includes
``index >= size`` (the RFC says to fail) and ``m > n``, which no proof can prove. ValueError
is raised only for arguments that cannot form a claim at all: a negative or non-int size, a
root or leaf hash that is not 32 bytes, and ``m == 0`` (consistency from the empty tree is
not defined by RFC 9162 §2.1.4; see :func:`ledger.merkle.consistency_plan`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.merkle.hashing import HASH_SIZE, _node_hash, check_hash, check_size

MAX_PROOF_HASHES = 65
"""No valid proof is longer. Each element the RFC loop consumes shifts ``sn`` right at least
once and ``sn < 2**64``, so at most 64 elements are consumed, plus a consistency proof's
seed. Longer input is refused before any hashing."""


def _well_formed(proof: Sequence[bytes]) -> bool:
    return len(proof) <= MAX_PROOF_HASHES and all(
        isinstance(p, bytes) and len(p) == HASH_SIZE for p in proof
    )


def _root_from_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes | None:
    """RFC 9162 §2.1.3.2 steps 1-5 without the root comparison; None when the proof fails."""
    if index >= size or not _well_formed(proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None  # proof longer than the path
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            if not fn & 1:
                # fn is the last node of its level and a left child: its parent is itself
                # (no right sibling), so climb without hashing.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None  # sn != 0: proof shorter than the path


def root_from_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root that ``proof`` implies for leaf ``index`` in the tree of ``size``.

    Preconditions: ``0 <= index < size``; ``leaf_hash`` and every proof element are 32
    bytes; ``len(proof)`` fits ``(index, size)``. ValueError otherwise.
    """
    check_size("index", index)
    check_size("size", size)
    check_hash("leaf_hash", leaf_hash)
    if index >= size:
        raise ValueError(f"inclusion: index {index} out of range for tree size {size}")
    for i, p in enumerate(proof):
        check_hash(f"proof[{i}]", p)
    computed = _root_from_inclusion(index, size, leaf_hash, proof)
    if computed is None:
        raise ValueError(f"inclusion: proof of {len(proof)} hashes does not fit ({index}, {size})")
    return computed


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff ``proof`` shows ``leaf_hash`` at ``index`` in the tree ``root`` of ``size`` leaves.

    Raises ValueError only for a negative/non-int ``index`` or ``size`` or a ``leaf_hash`` or
    ``root`` that is not 32 bytes; every other failure returns False.
    """
    check_size("index", index)
    check_size("size", size)
    check_hash("leaf_hash", leaf_hash)
    check_hash("root", root)
    return _root_from_inclusion(index, size, leaf_hash, proof) == root


def verify_consistency(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff ``proof`` shows the tree ``root_n`` of ``n`` leaves extends ``root_m`` of ``m``.

    Raises ValueError for ``m == 0``, negative/non-int sizes, or roots that are not 32 bytes.
    ``m == n`` verifies only with an empty proof and equal roots; ``m > n`` is False.
    """
    check_size("m", m)
    check_size("n", n)
    check_hash("root_m", root_m)
    check_hash("root_n", root_n)
    if m == 0:
        raise ValueError("consistency: m is 0, want 1 <= m <= n (RFC 9162 §2.1.4)")
    if m > n or not _well_formed(proof):
        return False
    if m == n:
        return not proof and root_m == root_n
    # RFC 9162 §2.1.4.2, steps 1-7.
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root_m)  # m is a power of two: the old root is the proof's seed
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node_hash(c, fr)
            sr = _node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root_m and sr == root_n
