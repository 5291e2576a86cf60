"""What auditors read: anchors, inclusion and consistency proofs, receipts, checkpoints."""

from __future__ import annotations

from typing import Any

from azora_client.models import Anchor, ConsistencyProof, EntryProof, Page, Receipt, decode
from azora_client.transport import Transport


class ProofCalls:
    """``/v1/anchors``, ``/v1/proofs/*``, ``/v1/checkpoint[/key]``."""

    _t: Transport

    def anchors(self, *, limit: int = 100, cursor: str | None = None) -> Page[Anchor]:
        """Anchors of the token log, newest tree size first (public)."""
        data = self._t.call("GET", "/v1/anchors", params={"limit": limit, "cursor": cursor}).json()
        return Page(tuple(decode(Anchor, a) for a in data["data"]), data["next_cursor"])

    def entry_proof(self, entry_id: str) -> EntryProof:
        """The entry's inclusion proof against the latest confirmed anchor; until one covers
        it, :class:`~azora_client.errors.NotAnchored` (``retry_after_s`` says when)."""
        raw: dict[str, Any] = self._t.call("GET", f"/v1/proofs/entries/{entry_id}").json()
        return decode(EntryProof, {**raw, "raw": raw})

    def receipt(self, entry_id: str) -> Receipt:
        raw: dict[str, Any] = self._t.call("GET", f"/v1/proofs/entries/{entry_id}/receipt").json()
        return decode(Receipt, {**raw, "raw": raw})

    def consistency_proof(self, from_size: int, to_size: int) -> ConsistencyProof:
        params = {"from": from_size, "to": to_size}
        data = self._t.call("GET", "/v1/proofs/consistency", params=params).json()
        return ConsistencyProof(
            data["from"], data["to"], data["from_root"], data["to_root"], tuple(data["proof"])
        )

    def checkpoint(self) -> str:
        """The log's signed checkpoint (C2SP signed note text)."""
        return self._t.call("GET", "/v1/checkpoint", headers={"Accept": "text/plain"}).text

    def checkpoint_key(self) -> str:
        return self._t.call(
            "GET", "/v1/checkpoint/key", headers={"Accept": "text/plain"}
        ).text.strip()
