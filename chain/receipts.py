"""Receipts (DESIGN §14): built by the service, checked by auditors.

:func:`build_receipt` is ``GET /v1/proofs/entries/{id}/receipt``: the §7 inclusion proof
and the signed checkpoint of the **same** confirmed anchor, and the log's verifier key.

:func:`audit_receipt` is ``azora audit receipt``. Offline it checks the leaf hash, the
key, the checkpoint's signature, that the checkpoint names the proof's tree, and the
inclusion path (:func:`ledger.tlog.check_receipt`), and says that the chain was not
consulted. With a contract binding it also checks that the RPC serves the receipt's chain,
that ``anchorAt(index)`` holds the checkpoint's size and root, and that the anchor's
transaction emitted that very ``Anchored`` event.
"""

from __future__ import annotations

from typing import Any

from chain.anchor_tx import events_of_transaction
from chain.audit import AuditResult, Verdict
from chain.checkpoints import Checkpoints
from chain.errors import ChainError
from chain.proofs import Proofs
from chain.retry import call_with_retry
from chain.token import AzoraToken
from ledger.tlog import (
    RECEIPT_VERSION,
    ReceiptClaims,
    ReceiptInvalid,
    ReceiptMalformed,
    check_receipt,
)


def build_receipt(
    proofs: Proofs, checkpoints: Checkpoints, entry_id: str, *, retry_after_s: int
) -> dict[str, Any]:
    """The receipt of ``entry_id`` against the latest confirmed anchor (NotAnchored while
    none covers it; Unavailable while the checkpoint cannot be signed; NotFound for an
    entry that moved no AZR, as the proof)."""
    proofs.log.leaf_of_entry(entry_id)  # NotFound first, as the proof answers
    anchor = checkpoints.latest_anchor(retry_after_s=retry_after_s)
    proof = proofs.entry_proof(entry_id, retry_after_s=retry_after_s, anchor=anchor)
    signed = checkpoints.sign(anchor)
    return {
        "version": RECEIPT_VERSION,
        **proof,
        "checkpoint": signed.note,
        "checkpoint_key": signed.key,
    }


def _details(claims: ReceiptClaims) -> dict[str, Any]:
    return {
        "entry_id": claims.entry_id,
        "leaf_index": claims.leaf_index,
        "tree_size": claims.tree_size,
        "root": "0x" + claims.root.hex(),
        "anchor_index": claims.anchor_index,
        "chain_id": claims.chain_id,
        "contract": claims.contract,
        "tx_hash": claims.tx_hash,
        "checkpoint_key": claims.key,
    }


def audit_receipt(
    receipt: Any, token: AzoraToken | None = None, pinned_key: str | None = None
) -> AuditResult:
    """Check a receipt; ``token`` None: offline (the chain is not consulted)."""
    try:
        claims, _checkpoint = check_receipt(receipt, pinned_key)
    except ReceiptMalformed as error:
        return AuditResult(Verdict.UNCHECKABLE, f"not a receipt: {error}")
    except ReceiptInvalid as error:
        return AuditResult(Verdict.INVALID, str(error))
    details = _details(claims)
    key_note = "the pinned key" if pinned_key else "the key in the receipt (not pinned: --key)"
    offline = (
        f"leaf {claims.leaf_index} is in the tree of size {claims.tree_size} whose checkpoint "
        f"is signed by {key_note}"
    )
    if token is None:
        details["chain"] = "not consulted"
        return AuditResult(
            Verdict.VALID,
            f"{offline}; the chain was NOT consulted (pass --rpc to check the anchor on chain)",
            details,
        )
    details["chain"] = "consulted"
    try:
        problem = _on_chain_problem(claims, token)
    except ChainError as error:
        return AuditResult(Verdict.UNCHECKABLE, f"could not read the chain: {error}", details)
    if problem is not None:
        verdict, reason = problem
        return AuditResult(verdict, reason, details)
    return AuditResult(
        Verdict.VALID,
        f"{offline}, and anchored on chain {claims.chain_id} at index {claims.anchor_index} "
        f"of {token.address}",
        details,
    )


def _on_chain_problem(claims: ReceiptClaims, token: AzoraToken) -> tuple[Verdict, str] | None:
    w3 = token.w3
    chain_id = int(call_with_retry(lambda: w3.eth.chain_id, token.settings.retry, "eth_chainId"))
    if chain_id != claims.chain_id:
        return (
            Verdict.UNCHECKABLE,
            f"the RPC serves chain {chain_id}; the receipt's anchor is on chain {claims.chain_id}",
        )
    count = token.anchor_count()
    if claims.anchor_index >= count:
        return (
            Verdict.INVALID,
            f"anchor {claims.anchor_index} does not exist on chain ({count} anchors)",
        )
    held = token.anchor_at(claims.anchor_index)
    if (held.tree_size, held.root) != (claims.tree_size, claims.root):
        return (
            Verdict.INVALID,
            f"anchor {claims.anchor_index} on chain is tree size {held.tree_size} and root "
            f"0x{held.root.hex()}, not the signed checkpoint's size {claims.tree_size} and "
            f"root 0x{claims.root.hex()}",
        )
    if claims.tx_hash is None:
        return None  # recorded from the chain without its event: anchorAt is the proof
    events = events_of_transaction(token, claims.tx_hash)
    wanted = (claims.anchor_index, claims.tree_size, claims.root)
    if events is None or wanted not in [(e.index, e.tree_size, e.root) for e in events]:
        return (
            Verdict.INVALID,
            f"transaction {claims.tx_hash} did not emit Anchored({claims.anchor_index}, "
            f"{claims.tree_size}, 0x{claims.root.hex()}) from {token.address}",
        )
    return None
