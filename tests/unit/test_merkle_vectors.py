"""Golden vectors (tests/unit/merkle_vectors.json) and systematic corruptions of them.

The JSON was produced once by :func:`generate_vectors` from the naive RFC 9162 reference
(tests/unit/merkle_reference.py), never from ``ledger.merkle``, and is committed. To
regenerate it after a deliberate format change (DESIGN.md §7 is fixed, so: never)::

    PYTHONPATH=. .venv/bin/python tests/unit/test_merkle_vectors.py --write

Every corruption of a valid proof must fail verification: a bit flip in each element, a
truncated proof, an extra element, index ± 1, size * 2, a wrong leaf, swapped roots.

Not in the list on purpose: size ± 1. RFC 9162 proofs do not bind the tree size by
themselves; when two sizes give the same proof shape (e.g. leaf 0 in trees of 5 and 6) the
same proof and root verify for both. The size must come from the same trusted place as the
root (the contract's ``anchorAt`` returns both); ``test_size_is_not_bound_by_the_proof``
pins this down so nobody relies on it by accident.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

try:
    from tests.unit import merkle_reference as ref
except ImportError:  # pytest's default "prepend" import mode puts tests/unit on sys.path
    import merkle_reference as ref  # type: ignore[import-not-found, no-redef]

VECTORS_PATH = Path(__file__).with_name("merkle_vectors.json")
VECTOR_LEAVES = 33
LARGER_SIZES = (13, 16, 17, 31, 32, 33)
SMALL_SIZE = 8

Json = dict[str, Any]


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _unhex(s: str) -> bytes:
    assert s.startswith("0x")
    return bytes.fromhex(s[2:])


def vector_leaf(i: int) -> bytes:
    """Leaf 0 is empty (zero-length leaves are legal); the rest look like canonical JSON."""
    return b"" if i == 0 else f'{{"entry":"e{i}","seq":{i}}}'.encode()


def _inclusion_cases() -> Iterator[tuple[int, int]]:
    for size in range(1, SMALL_SIZE + 1):
        yield from ((index, size) for index in range(size))
    for size in LARGER_SIZES:
        yield from ((index, size) for index in sorted({0, 1, size // 2, size - 2, size - 1}))


def _consistency_cases() -> Iterator[tuple[int, int]]:
    for n in range(1, SMALL_SIZE + 1):
        yield from ((m, n) for m in range(1, n + 1))
    for n in LARGER_SIZES:
        wanted = {1, 2, 3, 4, 7, 8, 12, 15, 16, 17, n - 1, n}
        yield from ((m, n) for m in sorted(wanted) if 1 <= m <= n)


def generate_vectors() -> Json:
    """Build the golden vectors from the reference implementation only."""
    leaves = [vector_leaf(i) for i in range(VECTOR_LEAVES)]
    return {
        "about": "RFC 9162 §2.1 with keccak256 (DESIGN.md §7); from the naive reference",
        "generator": "tests/unit/test_merkle_vectors.py::generate_vectors",
        "leaves": [_hex(leaf) for leaf in leaves],
        "roots": [{"size": n, "root": _hex(ref.mth(leaves[:n]))} for n in range(VECTOR_LEAVES + 1)],
        "inclusion": [
            {
                "index": index,
                "size": size,
                "leaf_hash": _hex(ref.mth(leaves[index : index + 1])),
                "root": _hex(ref.mth(leaves[:size])),
                "proof": [_hex(p) for p in ref.path(index, leaves[:size])],
            }
            for index, size in _inclusion_cases()
        ],
        "consistency": [
            {
                "m": m,
                "n": n,
                "root_m": _hex(ref.mth(leaves[:m])),
                "root_n": _hex(ref.mth(leaves[:n])),
                "proof": [_hex(p) for p in ref.proof(m, leaves[:n])],
            }
            for m, n in _consistency_cases()
        ],
    }


def load_vectors() -> Json:
    data: Json = json.loads(VECTORS_PATH.read_text())
    return data


VECTORS = load_vectors() if VECTORS_PATH.exists() else generate_vectors()


@pytest.fixture(scope="module")
def store() -> MemoryTree:
    t = MemoryTree()
    t.extend(leaf_hash(_unhex(leaf)) for leaf in VECTORS["leaves"])
    return t


def test_committed_vectors_match_reference() -> None:
    assert VECTORS_PATH.exists(), "run this file with --write once"
    assert load_vectors() == generate_vectors()


def test_empty_root_vector() -> None:
    assert _unhex(VECTORS["roots"][0]["root"]) == EMPTY_ROOT


@pytest.mark.parametrize("case", VECTORS["roots"], ids=lambda c: f"size{c['size']}")
def test_roots(case: Json, store: MemoryTree) -> None:
    assert store.root(case["size"]) == _unhex(case["root"])


# --- corruptions ----------------------------------------------------------------------------


def _flip(b: bytes, bit: int) -> bytes:
    out = bytearray(b)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _proof_corruptions(proof: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    for i, p in enumerate(proof):
        for bit in (0, 7, 129, 255):
            yield f"flip bit {bit} of proof[{i}]", [*proof[:i], _flip(p, bit), *proof[i + 1 :]]
    if proof:
        yield "truncated (last dropped)", proof[:-1]
        yield "truncated (first dropped)", proof[1:]
    yield "extra element appended", [*proof, proof[-1] if proof else EMPTY_ROOT]
    yield "extra element prepended", [EMPTY_ROOT, *proof]


def inclusion_corruptions(c: Json) -> Iterator[tuple[str, Callable[[], bool]]]:
    index, size = c["index"], c["size"]
    h, r = _unhex(c["leaf_hash"]), _unhex(c["root"])
    proof = [_unhex(p) for p in c["proof"]]

    def check(i: int, n: int, lh: bytes, pr: list[bytes], rt: bytes) -> Callable[[], bool]:
        return lambda: verify_inclusion(i, n, lh, pr, rt)

    for name, bad in _proof_corruptions(proof):
        yield name, check(index, size, h, bad, r)
    if index > 0:
        yield "index - 1", check(index - 1, size, h, proof, r)
    yield "index + 1", check(index + 1, size, h, proof, r)
    yield "size * 2", check(index, size * 2, h, proof, r)
    yield "wrong leaf", check(index, size, leaf_hash(b"not the leaf"), proof, r)
    yield "leaf bit flip", check(index, size, _flip(h, 3), proof, r)
    yield "root bit flip", check(index, size, h, proof, _flip(r, 200))


def consistency_corruptions(c: Json) -> Iterator[tuple[str, Callable[[], bool]]]:
    m, n = c["m"], c["n"]
    rm, rn = _unhex(c["root_m"]), _unhex(c["root_n"])
    proof = [_unhex(p) for p in c["proof"]]

    def check(a: int, b: int, ra: bytes, rb: bytes, pr: list[bytes]) -> Callable[[], bool]:
        return lambda: verify_consistency(a, b, ra, rb, pr)

    for name, bad in _proof_corruptions(proof):
        yield name, check(m, n, rm, rn, bad)
    if rm != rn:
        yield "swapped roots", check(m, n, rn, rm, proof)
    if m > 1:
        yield "m - 1", check(m - 1, n, rm, rn, proof)
    yield "m + 1", check(m + 1, n, rm, rn, proof)
    yield "n * 2", check(m, n * 2, rm, rn, proof)
    yield "root_m bit flip", check(m, n, _flip(rm, 5), rn, proof)
    yield "root_n bit flip", check(m, n, rm, _flip(rn, 5), proof)


def _inclusion_id(c: Json) -> str:
    return f"i{c['index']}-n{c['size']}"


def _consistency_id(c: Json) -> str:
    return f"m{c['m']}-n{c['n']}"


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=_inclusion_id)
def test_inclusion_vector(case: Json, store: MemoryTree) -> None:
    index, size = case["index"], case["size"]
    h, r = _unhex(case["leaf_hash"]), _unhex(case["root"])
    proof = [_unhex(p) for p in case["proof"]]
    assert leaf_hash(_unhex(VECTORS["leaves"][index])) == h
    assert store.inclusion_proof(index, size) == proof
    assert verify_inclusion(index, size, h, proof, r)
    assert root_from_inclusion(index, size, h, proof) == r
    for name, verify in inclusion_corruptions(case):
        assert verify() is False, f"corruption accepted: {name}"


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=_consistency_id)
def test_consistency_vector(case: Json, store: MemoryTree) -> None:
    m, n = case["m"], case["n"]
    proof = [_unhex(p) for p in case["proof"]]
    assert store.consistency_proof(m, n) == proof
    assert verify_consistency(m, n, _unhex(case["root_m"]), _unhex(case["root_n"]), proof)
    for name, verify in consistency_corruptions(case):
        assert verify() is False, f"corruption accepted: {name}"


def test_size_is_not_bound_by_the_proof(store: MemoryTree) -> None:
    h, r = leaf_hash(_unhex(VECTORS["leaves"][0])), store.root(5)
    proof = store.inclusion_proof(0, 5)
    assert verify_inclusion(0, 5, h, proof, r)
    assert verify_inclusion(0, 6, h, proof, r)  # same shape: trust the size with the root
    assert not verify_inclusion(0, 10, h, proof, r)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: test_merkle_vectors.py --write")
    VECTORS_PATH.write_text(json.dumps(generate_vectors(), indent=1) + "\n")
    print(f"wrote {VECTORS_PATH}")
