"""Naive RFC 9162 §2.1 reference, written straight from the RFC's recursive definitions.

Only for cross-checking ``ledger.merkle``: exponential-free but O(n) per call and slow.
It hashes with pycryptodome directly and shares no code with the fast implementation.
Leaves are the raw leaf bytes ``d(i)``, as in the RFC; HASH is keccak256 (DESIGN.md §7).
"""

from __future__ import annotations

from collections.abc import Sequence

from Crypto.Hash import keccak


def hash_(data: bytes) -> bytes:
    return keccak.new(data=data, digest_bits=256).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    assert n > 1
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    n = len(d)
    if n == 0:
        return hash_(b"")
    if n == 1:
        return hash_(b"\x00" + d[0])
    k = _k(n)
    return hash_(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the inclusion proof of leaf m."""
    n = len(d)
    assert 0 <= m < n
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the consistency proof from size m (0 < m <= n)."""
    assert 0 < m <= len(d)
    return subproof(m, d, True)


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]
