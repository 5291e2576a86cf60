"""The change stream: journal events by ``seq``, paged or as Server-Sent Events.

    from azora_client import AzoraClient, Events

    with AzoraClient(os.environ["AZORA_URL"], token=os.environ["AZORA_KEY"]) as azora:
        events = Events(azora)
        for event in events.stream(after_seq=0, kinds=["reward.*"]):   # runs until stopped
            handle(event)
            save_position(event.seq)            # resume later with after_seq=event.seq

The key needs the ``events:read`` scope. :meth:`Events.stream` reconnects by itself after
the server ends a stream or the connection drops, sending ``Last-Event-ID`` (the last seq it
yielded): no event is lost or repeated across reconnections.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from azora_client.client import AzoraClient, Posting, ServerError, error_for
from azora_client.sse import Message, messages

STREAM_READ_TIMEOUT_S = 60.0  # the server sends a keep-alive every 15 s
RECONNECT_DEFAULT_MS = 2000
RECONNECT_MAX_S = 30.0


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    entry_id: str
    type: str  # entry.posted | hold.created | hold.posted | hold.voided | hold.expired
    kind: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any]
    effective_at: datetime
    recorded_at: datetime
    expires_at: datetime | None
    hold_id: str | None
    reverses_id: str | None
    hash: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            seq=data["seq"],
            entry_id=data["entry_id"],
            type=data["type"],
            kind=data["kind"],
            postings=tuple(Posting(**p) for p in data["postings"]),
            metadata=data.get("metadata") or {},
            effective_at=datetime.fromisoformat(data["effective_at"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            expires_at=_instant(data.get("expires_at")),
            hold_id=data.get("hold_id"),
            reverses_id=data.get("reverses_id"),
            hash=data["hash"],
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    data: tuple[Event, ...]
    next_cursor: str | None  # set when the page is full
    last_seq: int  # resume here (as after_seq): nothing up to it is left to read


def _filters(kinds: Sequence[str] | None, types: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if kinds:
        params["kind"] = list(kinds)
    if types:
        params["type"] = list(types)
    return params


class Events:
    """The change stream of one :class:`AzoraClient` (its URL, key, retries)."""

    def __init__(self, client: AzoraClient) -> None:
        self._client = client

    def page(
        self,
        *,
        after_seq: int = 0,
        limit: int = 100,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
    ) -> EventPage:
        """Events with a seq after ``after_seq``, in seq order (``limit`` ≤ 500)."""
        params = {"after_seq": after_seq, "limit": limit, **_filters(kinds, types)}
        data = self._client._call("GET", "/v1/events", params=params).json()
        return EventPage(
            tuple(Event.from_json(e) for e in data["data"]), data["next_cursor"], data["last_seq"]
        )

    def iter(
        self,
        *,
        after_seq: int = 0,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        page_size: int = 500,
    ) -> Iterator[Event]:
        """Every event after ``after_seq`` recorded so far, page by page; then it ends."""
        position = after_seq
        while True:
            page = self.page(after_seq=position, limit=page_size, kinds=kinds, types=types)
            yield from page.data
            if page.next_cursor is None:
                return
            position = page.last_seq

    def stream(
        self,
        *,
        after_seq: int = 0,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        max_reconnects: int | None = None,
    ) -> Iterator[Event]:
        """Every event after ``after_seq``, then each new one as it is recorded, over SSE.

        Reconnects (after the server's ``retry`` delay, backing off while it fails) with
        ``Last-Event-ID``; ``max_reconnects`` bounds that (None: forever). Problems other
        than 5xx and 429 (a revoked key, a bad filter) are raised at once.
        """
        last, failures, reconnects = after_seq, 0, 0
        delay_s = RECONNECT_DEFAULT_MS / 1000
        while True:
            try:
                for item in self._one_stream(last, kinds, types):
                    if isinstance(item, int):
                        delay_s = item / 1000
                        continue
                    event = Event.from_json(json.loads(item.data))
                    last, failures = event.seq, 0
                    yield event
            except (httpx.TransportError, ServerError):
                failures += 1
            if max_reconnects is not None and reconnects >= max_reconnects:
                return
            reconnects += 1
            time.sleep(min(RECONNECT_MAX_S, delay_s * 2 ** min(failures, 8)))

    def _one_stream(
        self, after: int, kinds: Sequence[str] | None, types: Sequence[str] | None
    ) -> Iterator[Message | int]:
        http = self._client._http
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(after)}
        timeout = httpx.Timeout(http.timeout.connect, read=STREAM_READ_TIMEOUT_S)
        with http.stream(
            "GET", "/v1/events", params=_filters(kinds, types), headers=headers, timeout=timeout
        ) as response:
            if not response.is_success:
                response.read()
                try:
                    problem = response.json()
                except ValueError:
                    problem = {"type": "", "detail": response.text[:500]}
                error = error_for(response.status_code, problem)
                if response.status_code == 429:
                    raise ServerError(error.status, error.problem)  # retried like a 5xx
                raise error
            yield from messages(response.iter_lines())
