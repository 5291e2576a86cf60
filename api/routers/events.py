"""``/v1/events``: the journal's change stream, paged by ``seq`` or as Server-Sent Events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.deps import Context, EventsReader
from api.errors import ApiProblem
from api.ids import Limit, SeqCursor, seq_cursor
from api.schemas.common import PROTECTED, problems
from api.schemas.events import EventPage
from api.sse import HEADERS, MEDIA_TYPE, StreamSlots, event_stream
from ledger import Entry, EntryType, Ledger
from monetization.webhooks import check_kinds, entry_types, event_json

SEQ_MAX = 2**63 - 1
KIND_FILTERS_MAX = 64

router = APIRouter(prefix="/v1/events", tags=["events"], responses=PROTECTED)

AfterSeq = Annotated[
    int | None,
    Query(ge=0, le=SEQ_MAX, description="Events with a greater seq (default 0: from the start)."),
]
Kinds = Annotated[
    list[str] | None,
    Query(
        alias="kind",
        max_length=KIND_FILTERS_MAX,
        description="Only these kinds (`reward.earned`) or prefixes (`reward.*`); repeatable.",
    ),
]
Types = Annotated[
    list[str] | None,
    Query(
        alias="type",
        max_length=5,
        description="Only these event types (`hold.created`, ...); repeatable.",
    ),
]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=20,
        description="SSE: the id (seq) of the last event received; the stream resumes after it.",
    ),
]
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of events; with `Accept: text/event-stream`, the same events "
        "as Server-Sent Events (`id:` = seq, `event:` = type, `data:` = the event), then each "
        "new one as it is recorded.",
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}


def _start(after_seq: int | None, cursor: str | None, last_event_id: str | None) -> int:
    starts = {s for s in (after_seq, seq_cursor(cursor)) if s is not None}
    if len(starts) > 1:
        raise ApiProblem("invalid-request", "give after_seq or cursor, not two positions")
    if last_event_id is not None:
        if not (last_event_id.isascii() and last_event_id.isdigit() and len(last_event_id) < 20):
            raise ApiProblem("bad-request", "Last-Event-ID must be the seq of an event")
        return int(last_event_id)
    return starts.pop() if starts else 0


def _reader(
    book: Ledger, limit: int, kinds: list[str] | None, types: tuple[EntryType, ...] | None
) -> Any:
    def read(after: int) -> tuple[list[Entry], int, bool]:
        head = book.head_seq()  # first: the page is then a consistent prefix up to it
        found = book.events(after, limit, kinds, types=types, up_to_seq=head)
        full = len(found) == limit
        return found, (found[-1].seq if full else max(after, head)), full

    return read


@router.get(
    "",
    response_model=EventPage,
    responses=SSE_RESPONSE | problems(400, 403, 404),
)
async def list_events(
    request: Request,
    *,
    context: Context,
    _p: EventsReader,
    after_seq: AfterSeq = None,
    cursor: SeqCursor = None,
    limit: Limit = 100,
    kinds: Kinds = None,
    types: Types = None,
    last_event_id: LastEventId = None,
) -> Any:
    """Journal events in seq order: entries posted, holds created, posted, voided, expired.
    Needs the `events:read` scope (or admin). With `Accept: text/event-stream`, Server-Sent
    Events that resume after `Last-Event-ID`."""
    start = _start(after_seq, cursor, last_event_id)
    patterns = list(check_kinds(kinds)) or None
    read = _reader(context.ledger, limit, patterns, entry_types(types))
    if MEDIA_TYPE in request.headers.get("accept", ""):
        return _stream(context, read, start)
    events, resume, full = await run_in_threadpool(read, start)
    return JSONResponse(
        {
            "data": [event_json(e) for e in events],
            "next_cursor": str(events[-1].seq) if full else None,
            "last_seq": resume,
        }
    )


def _stream(context: Any, read: Any, start: int) -> StreamingResponse:
    config = context.config
    slots: StreamSlots = context.event_streams
    slot = slots.take()
    if slot is None:
        raise ApiProblem(
            "rate-limited",
            f"this server keeps {slots.max_open} event streams open at most; retry later",
            headers={"Retry-After": "5"},
        )
    stream = event_stream(
        read,
        start,
        poll_s=config.events_poll_interval_s,
        max_s=config.events_stream_max_s,
        slot=slot,
    )
    return StreamingResponse(
        stream, media_type=MEDIA_TYPE, headers=HEADERS, background=BackgroundTask(slot.release)
    )
