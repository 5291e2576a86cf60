"""An in-memory store of perfect nodes: the reference back end for tests and benchmarks.

It does what a database table keyed ``(level, index)`` would: insert the nodes that
:meth:`CompactRange.append` returns, answer ``get_node`` lookups, and never hold an
ephemeral node. Each level is one ``bytearray`` of 32-byte slots (about 64 bytes of memory
per leaf in all), because perfect nodes are completed in index order within a level.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.merkle.compact import CompactRange, Node, root_at
from ledger.merkle.hashing import HASH_SIZE, check_size
from ledger.merkle.proof import consistency_proof, inclusion_proof


class MemoryTree:
    """Append-only Merkle tree over leaf hashes; proofs for the current or any past size."""

    __slots__ = ("_frontier", "_levels")

    def __init__(self) -> None:
        self._frontier = CompactRange()
        self._levels: list[bytearray] = []

    @property
    def size(self) -> int:
        """Number of leaves appended."""
        return self._frontier.size

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Append one leaf hash (32 bytes); return the perfect nodes stored for it."""
        new_nodes = self._frontier.append(leaf_hash)
        for node in new_nodes:
            self._store(node)
        return new_nodes

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes in order."""
        for leaf_hash in leaf_hashes:
            self.append(leaf_hash)

    def _store(self, node: Node) -> None:
        if node.level == len(self._levels):
            self._levels.append(bytearray())
        row = self._levels[node.level]
        # Write-once, in order: a node arriving out of turn means the frontier is broken.
        assert len(row) == node.index * HASH_SIZE, (
            f"node ({node.level}, {node.index}) stored out of order"
        )
        row += node.hash

    def get_node(self, level: int, index: int) -> bytes:
        """Hash of perfect node ``(level, index)``; LookupError if it is not complete yet."""
        row = self._levels[level] if 0 <= level < len(self._levels) else b""
        start = index * HASH_SIZE
        if index < 0 or start + HASH_SIZE > len(row):
            raise LookupError(f"node ({level}, {index}) not stored; tree size is {self.size}")
        return bytes(row[start : start + HASH_SIZE])

    def root(self, size: int | None = None) -> bytes:
        """Root at ``size`` (default: the current size). Precondition: ``size <= self.size``."""
        if size is None:
            return self._frontier.root()
        self._check_within("size", size)
        return root_at(size, self.get_node)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Inclusion proof of leaf ``index`` at tree ``size``; ``index < size <= self.size``."""
        self._check_within("size", size)
        return inclusion_proof(index, size, self.get_node)

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        """Consistency proof from ``m`` to ``n``; ``1 <= m <= n <= self.size``."""
        self._check_within("n", n)
        return consistency_proof(m, n, self.get_node)

    def _check_within(self, name: str, size: int) -> None:
        check_size(name, size)
        if size > self.size:
            raise ValueError(f"{name}: got {size}, want <= tree size {self.size}")
