"""Perfect subtrees, compact ranges and the append frontier.

A *perfect node* ``(level, index)`` is the root of the perfect subtree of ``2**level`` leaves
``[index * 2**level, (index + 1) * 2**level)``. Once its last leaf is appended its hash never
changes, so a store can write it exactly once and key it ``(level, index)``.

Any leaf range ``[begin, end)`` is covered by at most ``2 * log2(end - begin)`` disjoint,
maximal perfect nodes (its *compact range*). The range ``[0, size)`` needs one per set bit
of ``size``, largest first; RFC 9162's tree of ``size`` leaves splits at the largest power
of two below ``size``, so its root is those nodes folded from the right:
``MTH = H(n_0, H(n_1, ... H(n_{k-2}, n_{k-1})))``. :func:`fold_right` does that fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.merkle.hashing import EMPTY_ROOT, _node_hash, check_hash, check_size

GetNode = Callable[[int, int], bytes]
"""``get_node(level, index)``: the stored hash of perfect node ``(level, index)``."""


@dataclass(frozen=True, slots=True)
class NodeId:
    """A perfect node: the subtree of ``2**level`` leaves starting at ``index * 2**level``."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        """First leaf covered."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf covered."""
        return (self.index + 1) << self.level


@dataclass(frozen=True, slots=True)
class Node:
    """A perfect node with its hash: one row for the store, keyed ``(level, index)``."""

    level: int
    index: int
    hash: bytes


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """Return the compact range of ``[begin, end)``: its maximal perfect nodes, left to right.

    Precondition: ``0 <= begin <= end`` (ValueError otherwise). Empty when ``begin == end``.
    """
    if not 0 <= begin <= end:
        raise ValueError(f"range [{begin}, {end}): want 0 <= begin <= end")
    nodes: list[NodeId] = []
    while begin < end:
        # The largest node starting at `begin` is bounded by begin's alignment and by what fits.
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, (begin & -begin).bit_length() - 1)
        nodes.append(NodeId(level, begin >> level))
        begin += 1 << level
    return nodes


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Fold perfect-node hashes of strictly decreasing size (left to right) into one hash.

    This is RFC 9162's MTH of the range they cover when that range starts at a multiple of
    a power of two at least as large as the range (true for ``[0, size)`` and for the right
    edge of any subtree). Precondition: ``hashes`` is not empty.
    """
    if not hashes:
        raise ValueError("fold_right: got no hashes, want at least one")
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = _node_hash(left, acc)
    return acc


def fetch(get_node: GetNode, node: NodeId) -> bytes:
    """Read one node through ``get_node`` and check it is a hash (the store is not trusted)."""
    value = get_node(node.level, node.index)
    check_hash(f"get_node({node.level}, {node.index})", value)
    return value


def root_at(size: int, get_node: GetNode) -> bytes:
    """Return the root of the tree of ``size`` leaves from at most log2(size)+1 stored nodes.

    Precondition: the store holds every perfect node inside ``[0, size)``.
    """
    check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return fold_right([fetch(get_node, node) for node in range_nodes(0, size)])


class CompactRange:
    """The frontier of an append-only log: the compact range of ``[0, size)`` with hashes.

    ``append`` takes a leaf hash and returns every perfect node it completes (the leaf
    itself, then one per level it merges), which is exactly what a store must insert; each
    node is returned once over the life of the log. ``root`` costs at most log2(size) hashes.
    Memory is O(log size).
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        # One hash per set bit of `size`, largest subtree first (the order of range_nodes).
        self._hashes: list[bytes] = []

    @classmethod
    def from_store(cls, size: int, get_node: GetNode) -> CompactRange:
        """Resume the frontier at ``size`` from the stored nodes (popcount(size) lookups)."""
        check_size("size", size)
        frontier = cls()
        frontier._hashes = [fetch(get_node, node) for node in range_nodes(0, size)]
        frontier._size = size
        return frontier

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def nodes(self) -> list[Node]:
        """The frontier's perfect nodes, left to right (the compact range of [0, size))."""
        ids = range_nodes(0, self._size)
        return [Node(i.level, i.index, h) for i, h in zip(ids, self._hashes, strict=True)]

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Append one leaf hash; return the perfect nodes it completes, lowest level first.

        Precondition: ``leaf_hash`` is 32 bytes (ValueError otherwise).
        """
        check_hash("leaf_hash", leaf_hash)
        index = self._size
        level = 0
        new_nodes = [Node(0, index, leaf_hash)]
        hashes = self._hashes
        hashes.append(leaf_hash)
        # A node with an odd index is a right child: it completes its parent. Merge upwards
        # while that holds; the trailing one bits of the old size say how far.
        while index & 1:
            right = hashes.pop()
            parent = _node_hash(hashes.pop(), right)
            hashes.append(parent)
            index >>= 1
            level += 1
            new_nodes.append(Node(level, index, parent))
        self._size += 1
        assert len(hashes) == self._size.bit_count(), "frontier holds one node per set bit"
        return new_nodes

    def root(self) -> bytes:
        """Root of the tree of the current size (EMPTY_ROOT when nothing was appended)."""
        return fold_right(self._hashes) if self._hashes else EMPTY_ROOT
