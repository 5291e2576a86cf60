"""Checkpoints of the token log in the C2SP ``tlog-checkpoint`` format (DESIGN §14).

The note text is three lines: the log's **origin**, the **tree size** in decimal (no
leading zero), and the **root** in base64, each ending in a newline; the note is signed
as a C2SP signed note (:mod:`ledger.tlog.note`) by a key whose name is the origin.

One deviation, fixed by DESIGN §7: the root is this log's RFC 9162 root with keccak256 in
place of SHA-256, so a tlog-tiles client that recomputes roots with SHA-256 will not agree
with it; the format and the signatures are the spec's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.tlog.note import (
    MalformedNote,
    NoteSigner,
    NoteVerifier,
    b64,
    b64decode_canonical,
    open_note,
)

ROOT_BYTES = 32
MAX_TREE_SIZE = 2**64 - 1  # the contract stores sizes as uint64
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class MalformedCheckpoint(MalformedNote):
    """The note's text is not a checkpoint of this log's kind."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedCheckpoint("the origin is one non-empty line")
        if not 0 <= self.tree_size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint("the tree size is a uint64")
        if len(self.root) != ROOT_BYTES:
            raise MalformedCheckpoint(f"the root hash has {ROOT_BYTES} bytes")

    def body(self) -> str:
        """The note text: ``<origin>\\n<tree size>\\n<base64 root>\\n``."""
        return f"{self.origin}\n{self.tree_size}\n{b64(self.root)}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint of a note text (extension lines are refused: this log writes none,
        and they are not auditable)."""
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise MalformedCheckpoint(
                "a checkpoint is three lines (origin, tree size, root), each ending in a newline"
            )
        origin, size, root = lines[:3]
        if not _SIZE.fullmatch(size):
            raise MalformedCheckpoint("the tree size is decimal digits with no leading zero")
        raw = b64decode_canonical(root, "the root hash", MalformedCheckpoint)
        return cls(origin, int(size), raw)


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The signed note of ``checkpoint``; the signer's name must be its origin."""
    if signer.name != checkpoint.origin:
        raise ValueError(f"the key is named {signer.name!r}, the origin is {checkpoint.origin!r}")
    return signer.sign(checkpoint.body())


def open_checkpoint(message: str | bytes, verifier: NoteVerifier) -> Checkpoint:
    """The checkpoint in ``message`` once its signature by ``verifier`` verifies and its
    origin is the verifier's name (NoteError otherwise, saying why)."""
    note = open_note(message, verifier)
    checkpoint = Checkpoint.parse(note.text)
    if checkpoint.origin != verifier.name:
        raise MalformedCheckpoint(
            f"the checkpoint's origin {checkpoint.origin!r} is not the key's name {verifier.name!r}"
        )
    return checkpoint
