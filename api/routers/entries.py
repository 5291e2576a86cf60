"""``/v1/entries``: post entries (one or a batch), read them, resolve holds.

The write routes are ``async``: they hand their commands to the ledger's group-commit writer
and await the outcome in the event loop (:meth:`ledger.Ledger.post_entry_async`), so a
request waiting for its commit holds no threadpool thread. The reads stay sync (threadpool).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from pydantic_core import to_json

from api import policy
from api.deps import IdempotencyKey, LedgerDep, Reader, Writer
from api.errors import STATUS_BY_CODE, ledger_code, ledger_problem
from api.ids import (
    REPLAYED_HEADER,
    AccountQuery,
    EntryPath,
    KindPatternsQuery,
    Limit,
    SeqCursor,
    SeqQuery,
    seq_cursor,
)
from api.schemas.common import PROTECTED, problems
from api.schemas.entries import (
    BatchCreate,
    BatchPublic,
    EntryCreate,
    EntryPage,
    EntryPublic,
    HoldPublic,
    entry_json,
)
from ledger import EntryFilter, EntryType, HoldAction, Ledger, LedgerError, NewEntry, Posted

router = APIRouter(prefix="/v1/entries", tags=["entries"], responses=PROTECTED)


class FastJSONResponse(JSONResponse):
    """``JSONResponse`` rendered by pydantic-core: the same bytes for the plain JSON data the
    write routes answer with (compact, UTF-8, no floats), in a third of the time; and the
    same headers as ``init_headers`` makes (the given ones, then length and type), built
    without its general case (a write route answers thousands of times a second)."""

    def __init__(
        self,
        content: Any,
        status_code: int = status.HTTP_200_OK,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = to_json(content)
        raw = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        raw += [(b"content-length", str(len(self.body)).encode()), _JSON_TYPE]
        self.raw_headers = raw


_JSON_TYPE = (b"content-type", b"application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryPublic,
    responses=problems(
        403,
        codes=(
            "insufficient-funds",
            "idempotency-conflict",
            "invalid-amount",
            "unknown-account",
            "asset-mismatch",
            "invalid-entry",
            "unknown-asset",
        ),
    ),
)
async def post_entry(
    body: EntryCreate, key: IdempotencyKey, book: LedgerDep, principal: Writer
) -> JSONResponse:
    """Record an entry (or, with `pending`, a hold). A retry with the same Idempotency-Key
    and body answers with the original entry; with another body, 409 `idempotency-conflict`."""
    return await record_entry(book, body.to_ledger(), principal.name, key)


async def record_entry(book: Ledger, request: NewEntry, principal: str, key: str) -> JSONResponse:
    """What ``POST /v1/entries`` answers once the request is parsed and authorized (also
    called by :mod:`api.fastpath`); a ledger refusal is raised."""
    posted = await book.post_entry_async(request, principal=principal, idempotency_key=key)
    headers = {REPLAYED_HEADER: "true"} if posted.replayed else None
    return FastJSONResponse(entry_json(posted.entry), status.HTTP_201_CREATED, headers=headers)


@router.post(
    "/batch",
    response_model=BatchPublic,
    responses=problems(403, codes=("invalid-request", "invalid-amount")),
)
async def post_batch(body: BatchCreate, book: LedgerDep, principal: Writer) -> JSONResponse:
    """Record up to 1,000 entries, each with its own `idempotency_key` and its own result
    (`status` is what that entry alone would have answered). Entries are independent: one
    refused entry does not stop the others."""
    return await record_batch(book, body, principal.name)


async def record_batch(book: Ledger, body: BatchCreate, principal: str) -> JSONResponse:
    """What ``POST /v1/entries/batch`` answers once the body is parsed and the caller
    authorized (also called by :mod:`api.fastpath`)."""
    outcomes: list[Posted | LedgerError | None] = [None] * len(body.entries)
    requests: list[tuple[NewEntry, str | None]] = []
    slots: list[int] = []
    for i, item in enumerate(body.entries):
        try:
            requests.append((item.to_ledger(), item.idempotency_key))
            slots.append(i)
        except LedgerError as error:
            outcomes[i] = error
    posted = await book.post_entries_async(requests, principal=principal)
    for i, outcome in zip(slots, posted, strict=True):
        outcomes[i] = outcome
    results = [
        _batch_result(i, item.idempotency_key, outcome)
        for i, (item, outcome) in enumerate(zip(body.entries, outcomes, strict=True))
    ]
    return FastJSONResponse({"results": results})


def _batch_result(index: int, key: str, outcome: Posted | LedgerError | None) -> dict[str, Any]:
    """One :class:`BatchItemResult` as JSON data."""
    if isinstance(outcome, Posted):
        return {
            "index": index,
            "idempotency_key": key,
            "status": status.HTTP_201_CREATED,
            "replayed": outcome.replayed,
            "entry": entry_json(outcome.entry),
            "problem": None,
        }
    assert isinstance(outcome, LedgerError), outcome
    return {
        "index": index,
        "idempotency_key": key,
        "status": STATUS_BY_CODE[ledger_code(outcome)],
        "replayed": False,
        "entry": None,
        "problem": ledger_problem(outcome),
    }


@router.get("", responses=problems(403, 404, codes=("invalid-request", "invalid-time")))
def list_entries(
    *,
    book: LedgerDep,
    principal: Reader,
    account: AccountQuery = None,
    kind: KindPatternsQuery = None,
    after_seq: SeqQuery = None,
    before_seq: SeqQuery = None,
    since: Annotated[AwareDatetime | None, Query(description="effective_at >= since")] = None,
    until: Annotated[AwareDatetime | None, Query(description="effective_at < until")] = None,
    limit: Limit = 100,
    cursor: SeqCursor = None,
) -> EntryPage:
    """Entries newest first: of one `account` (a user token must name one of its own), of
    the kinds `kind` (`reward.*` for every kind below `reward`), with
    `after_seq < seq < before_seq` and `since <= effective_at < until`."""
    policy.require_entry_listing(principal, account)
    before = seq_cursor(cursor)
    if before_seq is not None:
        before = before_seq if before is None else min(before, before_seq)
    selection = EntryFilter(account, kind, after_seq, before, since, until)
    found = book.list_entries(selection, limit=limit + 1)
    page = found[:limit]
    holds = book.hold_statuses([e.id for e in page if e.type is EntryType.PENDING])
    return EntryPage(
        data=[EntryPublic.build(e, holds[e.id].value if e.id in holds else None) for e in page],
        next_cursor=str(page[-1].seq) if len(found) > limit else None,
    )


@router.get("/{entry_id}", responses=problems(404))
def get_entry(entry_id: EntryPath, book: LedgerDep, principal: Reader) -> EntryPublic:
    """One entry; for a hold, `status` is its current state."""
    entry = book.get_entry(entry_id)
    policy.require_entry(principal, entry)
    if entry.type is EntryType.PENDING:
        return EntryPublic.build(entry, book.hold_state(entry_id).status.value)
    return EntryPublic.build(entry)


@router.post(
    "/{entry_id}/post",
    responses=problems(403, 404, codes=("hold-not-pending", "hold-owned-by-domain")),
)
async def post_hold(entry_id: EntryPath, book: LedgerDep, _p: Writer) -> HoldPublic:
    """Post a pending hold: move what it reserved. A repeat answers with the current state;
    posting a voided or expired hold is 409 `hold-not-pending`. Holds a domain owns (a
    redemption's) are 409 `hold-owned-by-domain`: resolve them through that resource."""
    policy.require_resolvable_hold(book.get_entry(entry_id))
    return HoldPublic.build(await book.resolve_hold_async(entry_id, HoldAction.POST))


@router.post(
    "/{entry_id}/void",
    responses=problems(403, 404, codes=("hold-not-pending", "hold-owned-by-domain")),
)
async def void_hold(entry_id: EntryPath, book: LedgerDep, _p: Writer) -> HoldPublic:
    """Void a pending hold: release what it reserved. A repeat answers with the current
    state; voiding a posted hold is 409 `hold-not-pending`. Holds a domain owns are 409
    `hold-owned-by-domain`."""
    policy.require_resolvable_hold(book.get_entry(entry_id))
    return HoldPublic.build(await book.resolve_hold_async(entry_id, HoldAction.VOID))
