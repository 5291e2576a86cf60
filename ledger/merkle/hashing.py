"""RFC 9162 §2.1 hashing with keccak256 in place of SHA-256 (DESIGN.md §7, fixed).

The 0x00 / 0x01 prefixes separate the leaf and node domains, so no leaf can be passed off as
an interior node (second-preimage resistance, RFC 9162 §2.1.1).
"""

from __future__ import annotations

from ledger.canonical import keccak256 as _keccak256

HASH_SIZE = 32
"""Length in bytes of every hash in the tree."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

MAX_SIZE = 1 << 64
"""Exclusive bound on sizes and indices: the contract stores tree sizes as uint64."""


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte keccak256 (Ethereum's, not SHA3-256) of ``data``."""
    return _keccak256(data)


EMPTY_ROOT = keccak256(b"")
"""Root of the tree of size 0: keccak256 of the empty string (RFC 9162: MTH({}) = HASH())."""


def leaf_hash(leaf: bytes) -> bytes:
    """Return keccak256(0x00 ‖ leaf): the hash of one leaf's bytes (any length, even 0)."""
    return keccak256(LEAF_PREFIX + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return keccak256(0x01 ‖ left ‖ right).

    Precondition: ``left`` and ``right`` are 32-byte hashes (ValueError otherwise).
    """
    check_hash("left", left)
    check_hash("right", right)
    return _node_hash(left, right)


def _node_hash(left: bytes, right: bytes) -> bytes:
    # Unchecked: for the hot loops, whose inputs are already known to be 32-byte hashes.
    return _keccak256(NODE_PREFIX, left, right)


def check_hash(name: str, value: bytes) -> None:
    """Raise ValueError unless ``value`` is a 32-byte ``bytes`` hash."""
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        got = (
            f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else type(value).__name__
        )
        raise ValueError(f"{name}: got {got}, want a {HASH_SIZE}-byte hash")


def check_size(name: str, value: int) -> None:
    """Raise ValueError unless ``value`` is an int in [0, 2^64): tree sizes are uint64 on chain."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: got {type(value).__name__}, want int")
    if not 0 <= value < MAX_SIZE:
        raise ValueError(f"{name}: got {value}, want 0 <= {name} < 2^64")
