"""The log's signed checkpoints (DESIGN §14): the latest confirmed anchor, as a C2SP note.

A checkpoint is the log's signed statement "my tree of N leaves has root R". It is signed
only for an anchor that is confirmed (in the records and, through :class:`~chain.proofs.
Proofs`' confirmation, on chain), so its size and root are ``anchorAt(index)``'s, and only
when the log's own root at that size is still R: a log whose stored history no longer
matches what was anchored (or an anchor someone else sent for a size the log does not have,
DESIGN §14's unpinned size) gets no signature. Ed25519 is deterministic: one anchor always
gives the same bytes, so nothing is cached and the log's root is checked every time.

The origin, which is also the key's name, is ``origin`` when configured
(``AZORA_LOG_ORIGIN``), else :func:`ledger.tlog.default_origin` of the anchor's chain id and
contract: ``azora-ledger/<chain id>/<contract>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from chain.proofs import AnchorRecord, NotAnchored, Proofs
from ledger.errors import Unavailable
from ledger.tlog import Checkpoint, NoteError, NoteSigner, default_origin, parse_signing_key
from ledger.tlog.checkpoint import sign_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str  # the signed note, as served by GET /v1/checkpoint
    key: str  # the verifier key, as served by GET /v1/checkpoint/key
    anchor: AnchorRecord


class Checkpoints:
    """Signs confirmed anchors. ``signing_key``: the key's text (see
    :func:`ledger.tlog.parse_signing_key`), asked for on first use only."""

    def __init__(
        self, proofs: Proofs, signing_key: Callable[[], str], origin: str | None = None
    ) -> None:
        self.proofs = proofs
        self._key_text = signing_key
        self.origin = origin
        self._signers: dict[str, NoteSigner] = {}
        self._lock = threading.Lock()

    def origin_of(self, anchor: AnchorRecord) -> str:
        return self.origin or default_origin(anchor.chain_id, anchor.contract)

    def signer(self, origin: str) -> NoteSigner:
        """The log's key under ``origin``; Unavailable when the configured key is not one."""
        with self._lock:
            signer = self._signers.get(origin)
            if signer is None:
                try:
                    signer = parse_signing_key(self._key_text(), origin)
                except NoteError as error:
                    log.error("checkpoints unavailable: AZORA_LOG_SIGNING_KEY: %s", error)
                    raise Unavailable(
                        "checkpoints are unavailable: the log's key is not usable"
                    ) from None
                self._signers[origin] = signer
            return signer

    def latest_anchor(self, *, retry_after_s: int) -> AnchorRecord:
        anchor = self.proofs.latest_confirmed()
        if anchor is None:
            raise NotAnchored("no anchor is confirmed yet", retry_after_s=retry_after_s)
        return anchor

    def latest(self, *, retry_after_s: int) -> SignedCheckpoint:
        """The checkpoint of the latest confirmed anchor; NotAnchored while there is none."""
        return self.sign(self.latest_anchor(retry_after_s=retry_after_s))

    def verifier_key(self, *, retry_after_s: int) -> str:
        """``<name>+<hex key id>+<base64(0x01 ‖ key)>``. Under the default origin the name
        comes from the anchored contract, so NotAnchored while nothing is confirmed."""
        origin = self.origin or self.origin_of(self.latest_anchor(retry_after_s=retry_after_s))
        return self.signer(origin).verifier.encode()

    def sign(self, anchor: AnchorRecord) -> SignedCheckpoint:
        """The signed checkpoint of ``anchor`` (a confirmed record). Unavailable when the
        log's root at that size is not the anchored root: the log signs only its own tree."""
        origin = self.origin_of(anchor)
        try:
            ours = self.proofs.log.root(anchor.tree_size)
        except (LookupError, ValueError):
            ours = None
        if ours != anchor.root:
            log.error(
                "ALERT checkpoint withheld: the log's root at size %d is not the root "
                "anchored at index %s on %s",
                anchor.tree_size,
                anchor.index,
                anchor.contract,
            )
            raise Unavailable(
                f"no checkpoint: the log's root at size {anchor.tree_size} is not the root "
                f"anchored at index {anchor.index} (run `azora ledger verify`)"
            )
        signer = self.signer(origin)
        checkpoint = Checkpoint(origin, anchor.tree_size, anchor.root)
        note = sign_checkpoint(checkpoint, signer)
        return SignedCheckpoint(checkpoint, note, signer.verifier.encode(), anchor)
