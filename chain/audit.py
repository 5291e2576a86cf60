"""The auditor's checks: trust the chain and the maths, nothing the service says.

``audit_entry`` takes a proof as served by ``GET /v1/proofs/entries/{id}``, recomputes the
leaf hash from the leaf bytes, reads the anchored tree size and root from the contract
(``anchorAt``) and verifies the inclusion path against them. ``audit_log`` reads every anchor
from the contract and checks each consecutive pair with a consistency proof fetched from the
API (the anchored history was only ever appended to), and that the roots the service
computes today for those sizes are still the anchored ones (its stored history was not
rewritten since).

Verdicts: VALID (exit 0), INVALID (exit 1, with the reason), UNCHECKABLE (exit 2: the
proof file, the RPC endpoint or the API could not be read).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import httpx

from chain.errors import ChainError
from chain.token import AzoraToken
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion

HTTP_TIMEOUT_S = 10.0
MAX_ANCHORS_CHECKED = 100_000


class Verdict(IntEnum):
    VALID = 0
    INVALID = 1
    UNCHECKABLE = 2


@dataclass
class AuditResult:
    verdict: Verdict
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.name.lower(), "reason": self.reason, **self.details}


def hex32(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError(f"{what} must be a 0x-prefixed 32-byte hex string")
    return bytes.fromhex(value[2:])


def _parse_proof(proof: dict[str, Any]) -> tuple[bytes, int, bytes, int, list[bytes], int]:
    leaf = proof["leaf"]
    if not isinstance(leaf, str):
        raise ValueError("leaf must be the canonical JSON string")
    index, size, anchor_index = proof["leaf_index"], proof["tree_size"], proof["anchor"]["index"]
    for name, value in (("leaf_index", index), ("tree_size", size), ("anchor.index", anchor_index)):
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
    path = [hex32(p, "inclusion_proof element") for p in proof["inclusion_proof"]]
    return leaf.encode(), index, hex32(proof["leaf_hash"], "leaf_hash"), size, path, anchor_index


def audit_entry(proof: dict[str, Any], token: AzoraToken) -> AuditResult:
    """Check one inclusion proof against the root the contract holds for its anchor."""
    try:
        leaf, index, claimed_hash, size, path, anchor_index = _parse_proof(proof)
    except (KeyError, TypeError, ValueError) as error:
        return AuditResult(Verdict.UNCHECKABLE, f"malformed proof: {error}")
    computed = leaf_hash(leaf)
    if computed != claimed_hash:
        return AuditResult(
            Verdict.INVALID,
            "leaf_hash does not match keccak256(0x00 || leaf): the leaf bytes were altered",
        )
    try:
        count = token.anchor_count()
        if anchor_index >= count:
            return AuditResult(
                Verdict.INVALID, f"anchor {anchor_index} does not exist on chain ({count} anchors)"
            )
        anchored = token.anchor_at(anchor_index)
    except ChainError as error:
        return AuditResult(Verdict.UNCHECKABLE, f"could not read the contract: {error}")
    details = {
        "entry_id": proof.get("entry_id"),
        "leaf_index": index,
        "anchor_index": anchor_index,
        "tree_size": anchored.tree_size,
        "root": "0x" + anchored.root.hex(),
        "contract": token.address,
    }
    if anchored.tree_size != size:
        return AuditResult(
            Verdict.INVALID,
            f"the proof claims tree size {size}, anchor {anchor_index} on chain has "
            f"{anchored.tree_size}",
            details,
        )
    if not verify_inclusion(index, size, computed, path, anchored.root):
        return AuditResult(
            Verdict.INVALID,
            f"the inclusion path does not lead to the root anchored on chain at index "
            f"{anchor_index}",
            details,
        )
    return AuditResult(
        Verdict.VALID,
        f"leaf {index} is in the tree of size {size} anchored on chain at index {anchor_index}",
        details,
    )


FetchConsistency = Callable[[int, int], dict[str, Any]]


def api_consistency_fetcher(api_url: str, client: httpx.Client | None = None) -> FetchConsistency:
    http = client or httpx.Client(base_url=api_url.rstrip("/"), timeout=HTTP_TIMEOUT_S)

    def fetch(old: int, new: int) -> dict[str, Any]:
        response = http.get("/v1/proofs/consistency", params={"from": old, "to": new})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    return fetch


def audit_log(
    token: AzoraToken,
    fetch: FetchConsistency,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Check every consecutive pair of anchors on chain with consistency proofs."""
    try:
        count = token.anchor_count()
    except ChainError as error:
        return AuditResult(Verdict.UNCHECKABLE, f"could not read the contract: {error}")
    if count > MAX_ANCHORS_CHECKED:
        return AuditResult(Verdict.UNCHECKABLE, f"{count} anchors: more than this tool checks")
    details: dict[str, Any] = {"anchors": count, "contract": token.address}
    if count < 2:
        return AuditResult(Verdict.VALID, f"{count} anchor(s): nothing to compare yet", details)
    try:
        previous = token.anchor_at(0)
    except ChainError as error:
        return AuditResult(Verdict.UNCHECKABLE, f"could not read the contract: {error}")
    for index in range(1, count):
        try:
            current = token.anchor_at(index)
        except ChainError as error:
            return AuditResult(Verdict.UNCHECKABLE, f"could not read anchor {index}: {error}")
        try:
            body = fetch(previous.tree_size, current.tree_size)
            proof = [hex32(p, "proof element") for p in body["proof"]]
            served = (hex32(body["from_root"], "from_root"), hex32(body["to_root"], "to_root"))
        except (httpx.HTTPError, KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
            return AuditResult(
                Verdict.UNCHECKABLE,
                f"could not fetch the consistency proof {previous.tree_size}->"
                f"{current.tree_size}: {error}",
                details,
            )
        for size, root_served, root_chain in (
            (previous.tree_size, served[0], previous.root),
            (current.tree_size, served[1], current.root),
        ):
            if root_served != root_chain:
                return AuditResult(
                    Verdict.INVALID,
                    f"the service's log at size {size} no longer has the root anchored on "
                    "chain: its history was rewritten",
                    details,
                )
        ok = verify_consistency(
            previous.tree_size, current.tree_size, previous.root, current.root, proof
        )
        if not ok:
            return AuditResult(
                Verdict.INVALID,
                f"anchors {index - 1} (size {previous.tree_size}) and {index} (size "
                f"{current.tree_size}) are not consistent: the log was rewritten in between",
                details,
            )
        if progress is not None:
            progress(index, count - 1)
        previous = current
    return AuditResult(
        Verdict.VALID, f"all {count} anchors are consistent: the log was only appended to", details
    )
