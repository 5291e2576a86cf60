"""RFC 9162 Merkle tree with keccak256: hashing, proofs and an append frontier.

DESIGN.md §7 fixes the format: ``leaf_hash = keccak256(0x00 ‖ leaf)``,
``node = keccak256(0x01 ‖ left ‖ right)``, the tree split at the largest power of two below
n, the empty root ``keccak256("")``, inclusion proofs per RFC 9162 §2.1.3 and consistency
proofs per §2.1.4.

Pure: no I/O. Storage is reached through ``get_node(level, index) -> bytes``, the hash of
the *perfect* subtree of ``2**level`` leaves starting at leaf ``index * 2**level``. A store
keeps those nodes only (a table keyed ``(level, index)``, filled from
:meth:`CompactRange.append`), which gives every proof and every past root in O(log n)
lookups without recomputing the tree; ``proof`` explains how non-perfect right edges are
folded from perfect nodes. For a database, fetch :attr:`ProofPlan.node_ids` in one query
and call :meth:`ProofPlan.assemble`.

Modules, one concept each: ``hashing``, ``compact`` (perfect nodes, compact ranges, the
frontier), ``proof`` (generation), ``verify`` (verification), ``memory`` (in-memory store).
"""

from ledger.merkle.compact import (
    CompactRange,
    GetNode,
    Node,
    NodeId,
    fold_right,
    range_nodes,
    root_at,
)
from ledger.merkle.hashing import EMPTY_ROOT, HASH_SIZE, keccak256, leaf_hash, node_hash
from ledger.merkle.memory import MemoryTree
from ledger.merkle.proof import (
    ProofPlan,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
    root,
)
from ledger.merkle.verify import root_from_inclusion, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "GetNode",
    "MemoryTree",
    "Node",
    "NodeId",
    "ProofPlan",
    "consistency_plan",
    "consistency_proof",
    "fold_right",
    "inclusion_plan",
    "inclusion_proof",
    "keccak256",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root",
    "root_at",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]
