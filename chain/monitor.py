"""The monitor behind ``azora audit watch``: follows a contract's ``Anchored`` events and
checks each new anchor against the one before it.

For each anchor (index ``i``, size ``n``, root ``R``) after the last one checked
(``m``, ``R_m``):

- the event agrees with ``anchorAt(i)``, indexes have no gap, ``n > m``;
- the consistency proof the anchor's transaction sent (when it called ``anchor`` directly)
  verifies here too, not only in the contract;
- with the API: the consistency proof ``m -> n`` it serves verifies against the roots read
  from the chain, and its roots are those roots (the log was not rewritten since);
- DESIGN §14's known limit: a consistency proof does not pin ``n``
  (:func:`ledger.tlog.consistency_sizes`). The line says so; with the API the log's own
  root at ``n`` pins it, without it the size is flagged UNPINNED.

Then, with the API, the log's signed checkpoint: its signature under the pinned key (the
first one seen, or ``--key``), and its size and root equal to an anchor on chain.

Events are read in ranges of at most ``max_blocks`` blocks (public RPCs limit
``eth_getLogs``), halved when the node refuses a range. A fresh monitor first checks the
anchors already on chain (``anchorAt``), then follows events from the head. The state is
saved after every anchor (:mod:`chain.watch_state`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from web3.exceptions import Web3Exception

from chain.anchor_tx import anchor_call
from chain.audit import HTTP_TIMEOUT_S, hex32
from chain.errors import ChainError
from chain.retry import call_with_retry
from chain.token import Anchor, AnchoredEvent, AzoraToken
from chain.watch_state import Head, WatchState
from ledger.merkle import verify_consistency
from ledger.tlog import NoteError, NoteVerifier, consistency_sizes, default_origin, open_checkpoint

DEFAULT_MAX_BLOCKS = 1_000
MAX_BLOCKS_LIMIT = 100_000


class Inconsistent(Exception):
    """The log or its anchors do not add up: the reason says where (exit 1)."""


class WatchUnavailable(Exception):
    """The chain, the API or the state could not be read (retry, or exit 2)."""


class LogApi(Protocol):
    """What the monitor asks the service (``--api``)."""

    def consistency(self, old: int, new: int) -> dict[str, Any]: ...

    def checkpoint(self) -> str | None: ...  # None: no confirmed anchor yet

    def key(self) -> str: ...


class HttpLogApi:
    def __init__(self, api_url: str, client: httpx.Client | None = None) -> None:
        self.http = client or httpx.Client(base_url=api_url.rstrip("/"), timeout=HTTP_TIMEOUT_S)

    def consistency(self, old: int, new: int) -> dict[str, Any]:
        response = self.http.get("/v1/proofs/consistency", params={"from": old, "to": new})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def checkpoint(self) -> str | None:
        response = self.http.get("/v1/checkpoint")
        if response.status_code == 409:
            return None
        response.raise_for_status()
        return response.text

    def key(self) -> str:
        response = self.http.get("/v1/checkpoint/key")
        response.raise_for_status()
        return response.text.strip()


@dataclass(frozen=True, slots=True)
class Seen:
    """One anchor to check: from an event, or from ``anchorAt`` (no transaction known)."""

    index: int
    tree_size: int
    root: bytes
    block_number: int | None = None
    tx_hash: str | None = None


def _hex(root: bytes) -> str:
    return "0x" + root.hex()


class Monitor:
    """One contract, one state. :meth:`poll` checks everything new up to the settled head
    and returns how many anchors it checked; raises Inconsistent or WatchUnavailable."""

    def __init__(
        self,
        token: AzoraToken,
        state: WatchState,
        *,
        api: LogApi | None = None,
        pinned_key: str | None = None,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
        confirmations: int = 1,
        out: Callable[[str], None] = print,
    ) -> None:
        if not 1 <= max_blocks <= MAX_BLOCKS_LIMIT:
            raise ValueError(f"max_blocks must be within 1..{MAX_BLOCKS_LIMIT}")
        if confirmations < 1:
            raise ValueError("confirmations must be at least 1")
        self.token = token
        self.state = state
        self.api = api
        self.max_blocks = max_blocks
        self.confirmations = confirmations
        self.out = out
        if pinned_key is not None:
            try:
                verifier = NoteVerifier.parse(pinned_key)
            except NoteError as error:
                raise ValueError(f"--key: {error}") from None
            if state.key is not None and NoteVerifier.parse(state.key) != verifier:
                raise Inconsistent(
                    f"--key {verifier.name}+{verifier.key_id.hex()} is not the key this "
                    f"monitor pinned before ({state.key})"
                )
            state.key = verifier.encode()

    # --- one round ---------------------------------------------------------------------

    def poll(self) -> int:
        try:
            checked = self._poll()
            if self.api is not None:
                self._check_checkpoint()
        except (ChainError, Web3Exception, httpx.HTTPError, json.JSONDecodeError) as error:
            raise WatchUnavailable(str(error)) from None
        return checked

    def _poll(self) -> int:
        w3 = self.token.w3
        latest = int(
            call_with_retry(lambda: w3.eth.block_number, self.token.settings.retry, "head")
        )
        head = latest - self.confirmations + 1
        checked = 0
        if self.state.next_block is None:  # a fresh monitor: what is on chain already
            for index in range(self.token.anchor_count()):
                checked += self._check(self._at(index))
            self.state.next_block = max(0, head + 1)
            self.state.save()
        start = self.state.next_block
        while start <= head:
            end = min(head, start + self.max_blocks - 1)
            events, end = self._events(start, end)
            for event in sorted(events, key=lambda e: e.index):
                checked += self._check(
                    Seen(
                        event.index, event.tree_size, event.root, event.block_number, event.tx_hash
                    )
                )
            self.state.next_block = start = end + 1
            self.state.save()
        return checked

    def _events(self, start: int, end: int) -> tuple[list[AnchoredEvent], int]:
        """Events of ``[start, end]``, the range halved while the node refuses it."""
        while True:
            try:
                return self.token.anchored_events(from_block=start, to_block=end), end
            except (ChainError, ValueError, Web3Exception):  # a range the node refuses
                if end == start:
                    raise
                end = start + (end - start) // 2

    def _at(self, index: int) -> Seen:
        held = self.token.anchor_at(index)
        return Seen(index, held.tree_size, held.root)

    # --- one anchor --------------------------------------------------------------------

    def _check(self, seen: Seen) -> int:
        last = self.state.last
        if last is not None and seen.index <= last.index:
            return 0  # seen already (a re-scanned range)
        checked = 0
        if last is not None and seen.index > last.index + 1:
            for index in range(last.index + 1, seen.index):  # the RPC skipped events: fill in
                checked += self._check(self._at(index))
            last = self.state.last
        elif last is None and seen.index > 0:
            before = self._at(seen.index - 1)
            last = Head(before.index, before.tree_size, before.root)
            self.out(
                f"anchor {before.index}: size {before.tree_size} root {_hex(before.root)} "
                "| baseline: before the scanned blocks, not checked"
            )
        held: Anchor = self.token.anchor_at(seen.index)
        if (held.tree_size, held.root) != (seen.tree_size, seen.root):
            raise Inconsistent(
                f"anchor {seen.index}: the Anchored event says size {seen.tree_size} root "
                f"{_hex(seen.root)}, the contract holds size {held.tree_size} root "
                f"{_hex(held.root)} (a reorg, or an RPC that lies)"
            )
        notes = self._first(seen) if last is None else self._against(last, seen)
        self.state.last = Head(seen.index, seen.tree_size, seen.root)
        self.state.save()
        where = f" block {seen.block_number} tx {seen.tx_hash}" if seen.tx_hash else ""
        self.out(
            f"anchor {seen.index}: size {seen.tree_size} root {_hex(seen.root)}{where} "
            f"| {'; '.join(notes)}"
        )
        return checked + 1

    def _first(self, seen: Seen) -> list[str]:
        """The first anchor extends nothing: only the log's own root can vouch for its size."""
        if self.api is None:
            return ["first anchor", "UNPINNED: the size of a first anchor is proven by nothing"]
        self._served_roots(seen.tree_size, seen.root, seen.tree_size, seen.root)
        return ["first anchor", "size pinned by the log's root at that size"]

    def _against(self, last: Head, seen: Seen) -> list[str]:
        if seen.tree_size <= last.tree_size:
            raise Inconsistent(
                f"anchor {seen.index} (size {seen.tree_size}) does not grow the log past "
                f"anchor {last.index} (size {last.tree_size})"
            )
        notes = [f"extends anchor {last.index} (size {last.tree_size})"]
        if seen.tx_hash is not None:
            call = anchor_call(self.token, seen.tx_hash)
            if call is not None:
                if (call.tree_size, call.root) != (seen.tree_size, seen.root):
                    raise Inconsistent(f"anchor {seen.index}: its transaction sent another head")
                if not verify_consistency(
                    last.tree_size, seen.tree_size, last.root, seen.root, call.proof
                ):
                    raise Inconsistent(
                        f"anchor {seen.index}: the contract accepted a consistency proof from "
                        f"size {last.tree_size} that does not verify: not the audited contract?"
                    )
                notes.append("the proof it sent verifies")
        if self.api is not None:
            proof = self._served_roots(last.tree_size, last.root, seen.tree_size, seen.root)
            if not verify_consistency(last.tree_size, seen.tree_size, last.root, seen.root, proof):
                raise Inconsistent(
                    f"anchors {last.index} (size {last.tree_size}) and {seen.index} (size "
                    f"{seen.tree_size}) are not consistent: the log was rewritten in between"
                )
            notes.append("the API's consistency proof verifies")
        sizes = consistency_sizes(last.tree_size, seen.tree_size)
        if len(sizes) > 1:
            fits = f"the proof also fits sizes {sizes.start}..{sizes.stop - 1}"
            if self.api is not None:
                notes.append(f"size pinned by the log's root ({fits})")
            else:
                notes.append(f"UNPINNED: {fits} (pass --api to pin it by the log's root)")
        return notes

    def _served_roots(self, old: int, old_root: bytes, new: int, new_root: bytes) -> list[bytes]:
        """The API's consistency proof ``old -> new``, once its roots are the anchored ones."""
        assert self.api is not None
        body = self.api.consistency(old, new)
        try:
            proof = [hex32(p, "proof element") for p in body["proof"]]
            served = (hex32(body["from_root"], "from_root"), hex32(body["to_root"], "to_root"))
        except (KeyError, TypeError, ValueError) as error:
            raise WatchUnavailable(f"the API's consistency proof {old}->{new}: {error}") from None
        for size, root, anchored in ((old, served[0], old_root), (new, served[1], new_root)):
            if root != anchored:
                raise Inconsistent(
                    f"the log's root at size {size} is {_hex(root)}, not the root anchored on "
                    f"chain {_hex(anchored)}: its history was rewritten, or the anchor claims "
                    "a size the log never had"
                )
        return proof

    # --- the signed checkpoint -----------------------------------------------------------

    def _check_checkpoint(self) -> None:
        assert self.api is not None
        if self.state.key is None:
            self.state.key = NoteVerifier.parse(self.api.key()).encode()
            self.state.save()
            self.out(f"pinned the log's key {self.state.key} (first use; --key pins it yourself)")
        note = self.api.checkpoint()
        if note is None:
            return
        verifier = NoteVerifier.parse(self.state.key)
        try:
            checkpoint = open_checkpoint(note, verifier)
        except NoteError as error:
            raise Inconsistent(
                f"the log served a checkpoint that does not verify: {error}"
            ) from None
        self._check_origin(checkpoint.origin)
        held = self._anchor_of_size(checkpoint.tree_size)
        if held is None:
            raise Inconsistent(
                f"the signed checkpoint names size {checkpoint.tree_size}, which no anchor on "
                "chain has: a forged or split view"
            )
        if held.root != checkpoint.root:
            raise Inconsistent(
                f"the signed checkpoint's root at size {checkpoint.tree_size} is "
                f"{_hex(checkpoint.root)}; anchor {held.index} on chain holds {_hex(held.root)}:"
                " the log signed another tree (a split view)"
            )
        if checkpoint.tree_size != self.state.checkpoint_size:
            self.state.checkpoint_size = checkpoint.tree_size
            self.state.save()
            self.out(
                f"checkpoint: size {checkpoint.tree_size} root {_hex(checkpoint.root)} "
                f"| signature verifies; it is anchor {held.index} on chain"
            )

    def _check_origin(self, origin: str) -> None:
        if self.state.origin is None:
            self.state.origin = origin
            self.state.save()
        elif origin != self.state.origin:
            raise Inconsistent(f"the checkpoint's origin became {origin!r} ({self.state.origin!r})")
        own = default_origin(self.state.chain_id, self.token.address)
        if origin.startswith("azora-ledger/") and origin.lower() != own.lower():
            raise Inconsistent(f"the checkpoint is of {origin!r}, this monitor follows {own!r}")

    def _anchor_of_size(self, size: int) -> Anchor | None:
        """The anchor of ``size`` on chain (sizes grow with the index: a binary search)."""
        lo, hi = 0, self.token.anchor_count() - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            held = self.token.anchor_at(mid)
            if held.tree_size == size:
                return held
            if held.tree_size < size:
                lo = mid + 1
            else:
                hi = mid - 1
        return None
