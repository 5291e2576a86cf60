"""Proof generation (RFC 9162 §2.1.3.1, §2.1.4.1) from stored perfect nodes.

A proof is computed in two steps so that a database answers it with one query:

1. :func:`inclusion_plan` / :func:`consistency_plan` work out, from the sizes alone, which
   perfect nodes ``(level, index)`` the proof needs (:attr:`ProofPlan.node_ids`, at most
   about ``2 * log2(size)`` of them) and how they combine into proof elements.
2. :meth:`ProofPlan.assemble` turns the fetched hashes into the proof.

The shape (as in transparency-dev/merkle ``proof.nodes``): walk up from the proven node
``(level, index)`` while its ancestors are complete in the tree of ``size``; each sibling on
that stretch is a perfect node. The last complete ancestor, the *fork*, is a left child
whose right sibling covers ``[end, size)`` and is not perfect (an *ephemeral* node: its hash
changes with every append). Its hash is the right fold of the compact range of
``[end, size)``, a handful of perfect nodes. Above the fork the path joins the tree's right
edge, so every remaining sibling is on the left and perfect: the compact range of
``[0, begin)``, smallest first.

Storing only perfect nodes is what makes this work for a log in a database: they are
written once when complete and never change, and they serve proofs for every past size as
well as the current one. Storing ephemeral nodes would mean rewriting O(log n) rows per
append and keeping a copy per tree size for proofs against older anchors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.merkle.compact import GetNode, NodeId, fetch, fold_right, range_nodes
from ledger.merkle.hashing import EMPTY_ROOT, _node_hash, check_hash, check_size


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """The perfect nodes a proof needs and how they make its elements.

    ``elements[i]`` lists perfect nodes left to right; proof element ``i`` is their
    :func:`fold_right` (a single node stands for itself).
    """

    elements: tuple[tuple[NodeId, ...], ...]

    @property
    def node_ids(self) -> tuple[NodeId, ...]:
        """Every node to fetch, each once, in proof order: the batch for one store query."""
        return tuple(dict.fromkeys(node for element in self.elements for node in element))

    def assemble(self, hashes: Mapping[NodeId, bytes]) -> list[bytes]:
        """Build the proof from fetched hashes keyed by :class:`NodeId`.

        Precondition: ``hashes`` holds every node of :attr:`node_ids` as a 32-byte hash
        (KeyError / ValueError otherwise).
        """
        for node in self.node_ids:
            check_hash(f"node ({node.level}, {node.index})", hashes[node])
        return [fold_right([hashes[node] for node in element]) for element in self.elements]

    def fetch_and_assemble(self, get_node: GetNode) -> list[bytes]:
        """Build the proof reading each node through ``get_node(level, index)``."""
        return self.assemble({node: fetch(get_node, node) for node in self.node_ids})


def _path(index: int, level: int, size: int) -> list[tuple[NodeId, ...]]:
    """Elements proving node (level, index) in the tree of ``size``; the node itself first.

    Precondition (checked by callers): the node is complete in the tree, i.e.
    ``(index + 1) << level <= size``.
    """
    # Highest bit where the node's path and the path to the tree's right edge part ways.
    inner = (index ^ (size >> level)).bit_length() - 1
    fork = NodeId(level + inner, index >> inner)
    elements: list[tuple[NodeId, ...]] = [(NodeId(level, index),)]
    elements.extend((NodeId(level + k, (index >> k) ^ 1),) for k in range(inner))
    if fork.end < size:
        elements.append(tuple(range_nodes(fork.end, size)))
    elements.extend((node,) for node in reversed(range_nodes(0, fork.begin)))
    return elements


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Precondition: ``0 <= index < size`` (ValueError otherwise).
    """
    check_size("index", index)
    check_size("size", size)
    if index >= size:
        raise ValueError(f"inclusion: index {index} out of range for tree size {size}")
    return ProofPlan(tuple(_path(index, 0, size)[1:]))


def consistency_plan(m: int, n: int) -> ProofPlan:
    """Plan the consistency proof between the trees of ``m`` and ``n`` leaves.

    Preconditions: ``1 <= m <= n`` (ValueError otherwise). ``m == 0`` is refused: RFC 9162
    §2.1.4 defines proofs for ``0 < m <= n`` only (every tree extends the empty one; there
    is nothing to prove and no anchored size is 0). ``m == n`` gives an empty proof.
    """
    check_size("m", m)
    check_size("n", n)
    if m == 0:
        raise ValueError("consistency: m is 0, want 1 <= m <= n (RFC 9162 §2.1.4)")
    if m > n:
        raise ValueError(f"consistency: m {m} > n {n}, want 1 <= m <= n")
    if m == n:
        return ProofPlan(())
    # The largest perfect node ending at m. The proof is its inclusion path in the tree of
    # n, led by the node itself unless m is a power of two: then the node is the old root,
    # which the verifier already holds.
    level = (m & -m).bit_length() - 1
    index = (m - 1) >> level
    elements = _path(index, level, n)
    return ProofPlan(tuple(elements[1:] if index == 0 else elements))


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``.

    Preconditions: ``0 <= index < size``; ``get_node`` answers every perfect node inside
    ``[0, size)`` (a store that has appended at least ``size`` leaves does). Costs at most
    about 2*log2(size) lookups and log2(size) hashes.
    """
    return inclusion_plan(index, size).fetch_and_assemble(get_node)


def consistency_proof(m: int, n: int, get_node: GetNode) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof between sizes ``m`` and ``n``.

    Preconditions: ``1 <= m <= n``; ``get_node`` answers every perfect node inside ``[0, n)``.
    """
    return consistency_plan(m, n).fetch_and_assemble(get_node)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the RFC 9162 root (MTH) of a list of leaf hashes; EMPTY_ROOT for none.

    Bottom-up pairing that lifts an unpaired last node unchanged is the same tree as the
    split at the largest power of two below n. Precondition: every element is 32 bytes.
    """
    for i, leaf in enumerate(leaf_hashes):
        check_hash(f"leaf_hashes[{i}]", leaf)
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [_node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
