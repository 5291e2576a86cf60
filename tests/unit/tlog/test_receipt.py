"""Receipts checked offline: a genuine one passes; each tampering is refused with its reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ledger.merkle import MemoryTree, leaf_hash
from ledger.tlog import (
    Checkpoint,
    NoteSigner,
    ReceiptInvalid,
    ReceiptMalformed,
    check_receipt,
    default_origin,
    sign_checkpoint,
)

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ORIGIN = default_origin(31337, CONTRACT)
SIGNER = NoteSigner(ORIGIN, b"\x42" * 32)
SIZE = 11


def leaf(i: int) -> bytes:
    body = {"entry_id": f"e{i}", "seq": i + 1, "kind": "reward.earned", "event": "posted"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def receipt(index: int = 6, signer: NoteSigner = SIGNER) -> dict[str, Any]:
    tree = MemoryTree()
    tree.extend([leaf_hash(leaf(i)) for i in range(SIZE)])
    root = tree.root(SIZE)
    return {
        "version": 1,
        "entry_id": f"e{index}",
        "leaf_index": index,
        "leaf": leaf(index).decode(),
        "leaf_hash": "0x" + leaf_hash(leaf(index)).hex(),
        "tree_size": SIZE,
        "root": "0x" + root.hex(),
        "inclusion_proof": ["0x" + p.hex() for p in tree.inclusion_proof(index, SIZE)],
        "anchor": {
            "index": 2,
            "chain_id": 31337,
            "contract": CONTRACT,
            "tx_hash": "0x" + "ab" * 32,
        },
        "checkpoint": sign_checkpoint(Checkpoint(signer.name, SIZE, root), signer),
        "checkpoint_key": signer.verifier.encode(),
    }


def test_a_genuine_receipt_passes_with_and_without_a_pinned_key() -> None:
    for index in range(SIZE):
        claims, checkpoint = check_receipt(receipt(index))
        assert (claims.leaf_index, checkpoint.tree_size) == (index, SIZE)
    check_receipt(receipt(), pinned_key=SIGNER.verifier.encode())


def _flip_hex(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _other_key_id(vkey: str) -> str:
    name, hex_id, key = vkey.split("+", 2)
    return f"{name}+{(int(hex_id, 16) ^ 1):08x}+{key}"


def _leaf(r: dict[str, Any]) -> None:
    forged = r["leaf"].replace('"seq":7', '"seq":70')
    r["leaf"], r["leaf_hash"] = forged, "0x" + leaf_hash(forged.encode()).hex()


def _resign(r: dict[str, Any]) -> None:
    """Another key signs the same checkpoint and replaces the key: a consistent forgery."""
    other = receipt(signer=NoteSigner(ORIGIN, b"\x43" * 32))
    r["checkpoint"], r["checkpoint_key"] = other["checkpoint"], other["checkpoint_key"]


TAMPERINGS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "leaf bytes": (lambda r: r.update(leaf=r["leaf"].replace("e6", "e9")), "leaf bytes"),
    "leaf, rehashed": (_leaf, "inclusion path"),
    "path": (
        lambda r: r["inclusion_proof"].__setitem__(0, _flip_hex(r["inclusion_proof"][0])),
        "inclusion path",
    ),
    "path truncated": (lambda r: r["inclusion_proof"].pop(), "inclusion path"),
    "leaf index": (lambda r: r.update(leaf_index=r["leaf_index"] + 1), "inclusion path"),
    "root": (lambda r: r.update(root=_flip_hex(r["root"])), "signed checkpoint names"),
    "tree size": (lambda r: r.update(tree_size=SIZE + 1), "signed checkpoint names"),
    "checkpoint size line": (
        lambda r: r.update(checkpoint=r["checkpoint"].replace(f"\n{SIZE}\n", f"\n{SIZE + 1}\n")),
        "does not verify",
    ),
    "checkpoint origin line": (
        lambda r: r.update(checkpoint=r["checkpoint"].replace(ORIGIN + "\n", "example.com/x\n", 1)),
        "does not verify",
    ),
    "signature": (
        lambda r: r.update(
            checkpoint=r["checkpoint"][:-10]
            + ("A" if r["checkpoint"][-10] != "A" else "B")
            + r["checkpoint"][-9:]
        ),
        "does not verify",
    ),
    "signature dropped": (
        lambda r: r.update(checkpoint=r["checkpoint"].split("\n\n")[0] + "\n\n"),
        "checkpoint",
    ),
    "key bytes": (
        lambda r: r.update(
            checkpoint_key=r["checkpoint_key"][:-3]
            + ("AAA" if not r["checkpoint_key"].endswith("AAA") else "BBB")
        ),
        "key was altered",
    ),
    "key id": (
        lambda r: r.update(checkpoint_key=_other_key_id(r["checkpoint_key"])),
        "key was altered",
    ),
    "key name": (
        lambda r: r.update(checkpoint_key="example.com/other" + r["checkpoint_key"][len(ORIGIN) :]),
        "checkpoint_key",
    ),
    "anchor chain": (lambda r: r["anchor"].update(chain_id=1), "chain 31337"),
}


@pytest.mark.parametrize("how", sorted(TAMPERINGS))
def test_each_tampering_is_refused_with_its_reason(how: str) -> None:
    tamper, reason = TAMPERINGS[how]
    forged = copy.deepcopy(receipt())
    tamper(forged)
    assert forged != receipt()
    with pytest.raises(ReceiptInvalid, match=reason):
        check_receipt(forged)


def test_a_consistent_forgery_by_another_key_needs_the_pinned_key() -> None:
    forged = receipt()
    _resign(forged)
    check_receipt(forged)  # self-consistent: the receipt alone cannot tell the log's key
    with pytest.raises(ReceiptInvalid, match="not the pinned key"):
        check_receipt(forged, pinned_key=SIGNER.verifier.encode())


@pytest.mark.parametrize(
    "broken",
    [
        [],
        {"anchor": {}},
        {**receipt(), "leaf_index": -1},
        {**receipt(), "leaf_index": True},
        {**receipt(), "tree_size": 2**64},
        {**receipt(), "leaf": 5},
        {**receipt(), "leaf": "\ud800"},
        {**receipt(), "root": "0x12"},
        {**receipt(), "inclusion_proof": ["0x" + "00" * 32] * 65},
        {key: value for key, value in receipt().items() if key != "checkpoint"},
    ],
)
def test_what_is_not_a_receipt_is_malformed(broken: Any) -> None:
    with pytest.raises(ReceiptMalformed):
        check_receipt(broken)
