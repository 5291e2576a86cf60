"""Receipts (DESIGN §14): one self-contained JSON proving one token event, checked offline.

A receipt is the inclusion proof of ``GET /v1/proofs/entries/{id}`` (DESIGN §7) plus
``checkpoint``, the log's signed checkpoint of the same tree (C2SP tlog-checkpoint), and
``checkpoint_key``, the log's verifier key. Its ``anchor`` names where that tree head is
anchored: chain id, contract, index and transaction.

:func:`check_receipt` checks everything that needs no chain: the leaf hash, the key, the
checkpoint's signature, that the checkpoint names the proof's tree size and root, and the
inclusion path to that root. A failure raises :class:`ReceiptInvalid` (tampered: the
reason says what does not hold) or :class:`ReceiptMalformed` (not a receipt at all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.merkle import leaf_hash, verify_inclusion
from ledger.tlog.checkpoint import Checkpoint, open_checkpoint
from ledger.tlog.note import MalformedKey, NoteError, NoteVerifier

RECEIPT_VERSION = 1
MAX_PROOF_NODES = 64
UINT64_MAX = 2**64 - 1
DEFAULT_ORIGIN_PREFIX = "azora-ledger/"
_DEFAULT_ORIGIN = re.compile(r"azora-ledger/([0-9]+)/(0x[0-9a-fA-F]{40})")


def default_origin(chain_id: int, contract: str) -> str:
    """The origin of a log whose ``AZORA_LOG_ORIGIN`` is not set: it names the chain and
    the contract its checkpoints are anchored on."""
    return f"{DEFAULT_ORIGIN_PREFIX}{chain_id}/{contract}"


class ReceiptMalformed(ValueError):
    """Not a receipt: a field is missing or of the wrong form."""


class ReceiptInvalid(ValueError):
    """A receipt that does not prove what it claims (the message says which part)."""


@dataclass(frozen=True, slots=True)
class ReceiptClaims:
    """What a receipt claims, parsed; after :func:`check_receipt`, what it proves offline."""

    entry_id: str | None
    leaf_index: int
    leaf: bytes
    leaf_hash: bytes
    tree_size: int
    root: bytes
    path: tuple[bytes, ...]
    anchor_index: int
    chain_id: int
    contract: str
    tx_hash: str | None
    checkpoint: str
    key: str


def _hex32(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raise ReceiptMalformed(f"{what} must be a 0x-prefixed 32-byte hex string")
    return bytes.fromhex(value[2:])


def _uint(value: object, what: str) -> int:
    if type(value) is not int or not 0 <= value <= UINT64_MAX:
        raise ReceiptMalformed(f"{what} must be an integer in [0, 2^64)")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ReceiptMalformed(f"{what} must be a string")
    return value


def parse_receipt(receipt: object) -> ReceiptClaims:
    """The claims of ``receipt`` (a decoded JSON object); ReceiptMalformed if it is none."""
    if not isinstance(receipt, Mapping):
        raise ReceiptMalformed("a receipt is a JSON object")
    try:
        anchor = receipt["anchor"]
        if not isinstance(anchor, Mapping):
            raise ReceiptMalformed("anchor must be an object")
        path = receipt["inclusion_proof"]
        if not isinstance(path, list) or len(path) > MAX_PROOF_NODES:
            raise ReceiptMalformed("inclusion_proof must be a list of at most 64 hashes")
        tx_hash = anchor.get("tx_hash")
        entry_id = receipt.get("entry_id")
        return ReceiptClaims(
            entry_id=entry_id if isinstance(entry_id, str) else None,
            leaf_index=_uint(receipt["leaf_index"], "leaf_index"),
            leaf=_text(receipt["leaf"], "leaf").encode("utf-8"),
            leaf_hash=_hex32(receipt["leaf_hash"], "leaf_hash"),
            tree_size=_uint(receipt["tree_size"], "tree_size"),
            root=_hex32(receipt["root"], "root"),
            path=tuple(_hex32(p, "an inclusion_proof element") for p in path),
            anchor_index=_uint(anchor["index"], "anchor.index"),
            chain_id=_uint(anchor["chain_id"], "anchor.chain_id"),
            contract=_text(anchor["contract"], "anchor.contract"),
            tx_hash=None if tx_hash is None else _text(tx_hash, "anchor.tx_hash"),
            checkpoint=_text(receipt["checkpoint"], "checkpoint"),
            key=_text(receipt["checkpoint_key"], "checkpoint_key"),
        )
    except KeyError as missing:
        raise ReceiptMalformed(f"the receipt has no {missing}") from None
    except UnicodeEncodeError:
        raise ReceiptMalformed("leaf must be valid UTF-8 text") from None


def _verifier(claims: ReceiptClaims, pinned_key: str | None) -> NoteVerifier:
    try:
        verifier = NoteVerifier.parse(claims.key)
    except MalformedKey as error:
        raise ReceiptInvalid(f"checkpoint_key: {error}") from None
    if pinned_key is not None:
        try:
            pinned = NoteVerifier.parse(pinned_key)
        except MalformedKey as error:
            raise ReceiptMalformed(f"the pinned key: {error}") from None
        if pinned != verifier:
            raise ReceiptInvalid(
                f"the receipt's key {verifier.name}+{verifier.key_id.hex()} is not the "
                f"pinned key {pinned.name}+{pinned.key_id.hex()}"
            )
    return verifier


def _check_origin(checkpoint: Checkpoint, claims: ReceiptClaims) -> None:
    """A default origin names its deployment: it must be the receipt's anchor's."""
    named = _DEFAULT_ORIGIN.fullmatch(checkpoint.origin)
    if named is None:
        return
    chain_id, contract = int(named.group(1)), named.group(2)
    if (chain_id, contract.lower()) != (claims.chain_id, claims.contract.lower()):
        raise ReceiptInvalid(
            f"the checkpoint is the log anchored on chain {chain_id} at {contract}; the "
            f"receipt's anchor is on chain {claims.chain_id} at {claims.contract}"
        )


def check_receipt(receipt: Any, pinned_key: str | None = None) -> tuple[ReceiptClaims, Checkpoint]:
    """Everything a receipt proves without the chain; raises ReceiptInvalid or
    ReceiptMalformed. ``pinned_key``: the log's verifier key as the auditor knows it
    (without it, the receipt's own key is used: it proves the log signed, not which log)."""
    claims = parse_receipt(receipt)
    if leaf_hash(claims.leaf) != claims.leaf_hash:
        raise ReceiptInvalid(
            "leaf_hash is not keccak256(0x00 || leaf): the leaf bytes were altered"
        )
    verifier = _verifier(claims, pinned_key)
    try:
        checkpoint = open_checkpoint(claims.checkpoint, verifier)
    except NoteError as error:
        raise ReceiptInvalid(f"the checkpoint: {error}") from None
    _check_origin(checkpoint, claims)
    if (checkpoint.tree_size, checkpoint.root) != (claims.tree_size, claims.root):
        raise ReceiptInvalid(
            f"the proof is against tree size {claims.tree_size} and root "
            f"0x{claims.root.hex()}; the signed checkpoint names size {checkpoint.tree_size} "
            f"and root 0x{checkpoint.root.hex()}"
        )
    if not verify_inclusion(
        claims.leaf_index, claims.tree_size, claims.leaf_hash, claims.path, checkpoint.root
    ):
        raise ReceiptInvalid(
            f"the inclusion path of leaf {claims.leaf_index} does not lead to the signed root "
            f"of tree size {claims.tree_size}"
        )
    return claims, checkpoint
