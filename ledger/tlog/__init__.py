"""The token log's transparency formats, pure (no I/O, no web3): C2SP signed notes with
Ed25519 (:mod:`~ledger.tlog.note`), checkpoints (:mod:`~ledger.tlog.checkpoint`), the sizes
a consistency proof pins (:mod:`~ledger.tlog.pinning`) and receipts checked offline
(:mod:`~ledger.tlog.receipt`)."""

from ledger.tlog.checkpoint import Checkpoint, MalformedCheckpoint, open_checkpoint, sign_checkpoint
from ledger.tlog.note import (
    BadSignature,
    MalformedKey,
    MalformedNote,
    NoteError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNote,
    key_id,
    open_note,
    parse_note,
    parse_signing_key,
)
from ledger.tlog.pinning import consistency_sizes, pinned
from ledger.tlog.receipt import (
    RECEIPT_VERSION,
    ReceiptClaims,
    ReceiptInvalid,
    ReceiptMalformed,
    check_receipt,
    default_origin,
    parse_receipt,
)

__all__ = [
    "RECEIPT_VERSION",
    "BadSignature",
    "Checkpoint",
    "MalformedCheckpoint",
    "MalformedKey",
    "MalformedNote",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "ReceiptClaims",
    "ReceiptInvalid",
    "ReceiptMalformed",
    "UnverifiedNote",
    "check_receipt",
    "consistency_sizes",
    "default_origin",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_note",
    "parse_receipt",
    "parse_signing_key",
    "pinned",
    "sign_checkpoint",
]
