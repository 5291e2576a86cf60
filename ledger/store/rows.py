"""Journal values to table rows and back: one mapping, used by the writer and every read."""

from __future__ import annotations

from typing import Any

from ledger.canonical import canonical_json, loads
from ledger.model import Entry, EntryType, HistoryLine, Posting, postings_json


def entry_from_row(row: Any) -> Entry:
    postings = tuple(
        Posting(p["source"], p["destination"], p["asset"], int(p["amount"]))
        for p in loads(row.postings)
    )
    return Entry(
        id=row.id,
        seq=row.seq,
        type=EntryType(row.type),
        kind=row.kind,
        postings=postings,
        metadata=loads(row.metadata),
        effective_at=row.effective_at,
        recorded_at=row.recorded_at,
        expires_at=row.expires_at,
        hold_id=row.hold_id,
        reverses_id=row.reverses_id,
        principal=row.principal,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        hash=bytes(row.hash),
    )


def entry_row(e: Entry, texts: tuple[bytes, bytes] | None = None) -> dict[str, Any]:
    """The row of ``e``; ``texts``: the canonical JSON of its postings and metadata, when
    already made (the writer has them)."""
    postings, metadata = texts or (
        postings_json(e.postings),
        canonical_json(dict(e.metadata), checked=True),
    )
    return {
        "seq": e.seq,
        "id": e.id,
        "type": e.type.value,
        "kind": e.kind,
        "postings": postings.decode(),
        "metadata": metadata.decode(),
        "effective_at": e.effective_at,
        "recorded_at": e.recorded_at,
        "expires_at": e.expires_at,
        "hold_id": e.hold_id,
        "reverses_id": e.reverses_id,
        "principal": e.principal,
        "idempotency_key": e.idempotency_key,
        "fingerprint": e.fingerprint,
        "hash": e.hash,
    }


def line_from_row(row: Any) -> HistoryLine:
    return HistoryLine(
        row.account_id,
        row.seq,
        row.entry_id,
        row.kind,
        int(row.amount),
        int(row.balance_after),
        row.effective_at,
    )


def line_row(line: HistoryLine) -> dict[str, Any]:
    return {
        "account_id": line.account_id,
        "seq": line.seq,
        "entry_id": line.entry_id,
        "kind": line.kind,
        "amount": line.amount,
        "balance_after": line.balance_after,
        "effective_at": line.effective_at,
    }
