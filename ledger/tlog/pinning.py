"""Which tree sizes a consistency proof proves: DESIGN §14's known limit, computed.

RFC 9162's consistency check (§2.1.4.2) from size ``m`` to a claimed size ``c`` walks the
bits of ``m - 1`` and ``c - 1`` together. Below the highest bit where they differ, its steps
follow the bits of ``m - 1`` alone; from that bit up, the two are equal and the steps again
follow ``m - 1``. So every ``c`` whose ``c - 1`` differs from ``m - 1`` first at the same
bit runs the very same hashes over the same proof, and a proof from ``m`` with the root of
``n`` also verifies for each such ``c``: the proof 40 -> 41 passes for 41..48. The contract
runs that check, so it accepts any of those sizes for the root.

A size is *pinned* by its proof only when the range is that size alone: ``m`` odd and
``n = m + 1``. Otherwise something else must pin it: the log's own root at that size
(``GET /v1/proofs/consistency``), the log's signed checkpoint, or an inclusion proof of the
last leaf (the anchoring worker's check).
"""

from __future__ import annotations


def consistency_sizes(m: int, n: int) -> range:
    """Every tree size ``c`` for which a consistency proof from ``m`` to ``n`` (with the
    root of ``n``) also verifies as a proof from ``m`` to ``c``. Precondition ``1 <= m < n``.
    """
    if not 1 <= m < n:
        raise ValueError(f"consistency_sizes: need 1 <= m < n, got m={m}, n={n}")
    level = ((m - 1) ^ (n - 1)).bit_length()  # the highest differing bit is level - 1
    base = ((m - 1) >> level) << level
    return range(base + (1 << (level - 1)) + 1, base + (1 << level) + 1)


def pinned(m: int, n: int) -> bool:
    """True when the consistency proof from ``m`` fixes the new size ``n`` exactly."""
    return len(consistency_sizes(m, n)) == 1
