"""Server-Sent Events for the change stream (``GET /v1/events`` with
``Accept: text/event-stream``).

Each event is one message: ``id: <seq>``, ``event: <type>``, ``data: <the event's JSON>``
(one line: JSON escapes every line break). A client that reconnects sends the last id it
saw as ``Last-Event-ID`` and continues after it, so nothing is lost and nothing repeats.
Idle streams carry a comment every :data:`KEEPALIVE_S` (proxies close silent
connections). A stream lasts at most ``max_s`` (the client reconnects and resumes), and a
process serves at most a bounded number at once (:class:`StreamSlots`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from fastapi.concurrency import run_in_threadpool

from ledger import Entry
from monetization.webhooks import EVENT_TYPES, event_bytes

KEEPALIVE_S = 15.0
RECONNECT_MS = 2000
MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

ReadPage = Callable[[int], tuple[list[Entry], int, bool]]  # after → events, resume, full


class StreamSlots:
    """A bound on the streams one process keeps open."""

    def __init__(self, max_open: int) -> None:
        self.max_open = max_open
        self.open = 0
        self._lock = threading.Lock()

    def take(self) -> Slot | None:
        with self._lock:
            if self.open >= self.max_open:
                return None
            self.open += 1
            return Slot(self)

    def _give(self) -> None:
        with self._lock:
            self.open -= 1


class Slot:
    """One open stream; :meth:`release` is idempotent (the stream's end and the response's
    background task both call it: whichever runs)."""

    def __init__(self, slots: StreamSlots) -> None:
        self._slots: StreamSlots | None = slots

    def release(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._give()


def message(entry: Entry) -> bytes:
    head = f"id: {entry.seq}\nevent: {EVENT_TYPES[entry.type]}\ndata: ".encode()
    return head + event_bytes(entry) + b"\n\n"


async def event_stream(
    read_page: ReadPage,
    after: int,
    *,
    poll_s: float,
    max_s: float,
    slot: Slot,
) -> AsyncIterator[bytes]:
    """Messages of every event after ``after``, then of each new one as it is recorded.

    ``slot`` was taken by the caller and is released when the stream ends (its end, or a
    client gone: the server cancels the generator, ``finally`` runs).
    """
    loop = asyncio.get_running_loop()
    try:
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        deadline = loop.time() + max_s
        quiet_since = loop.time()
        while loop.time() < deadline:
            events, after, full = await run_in_threadpool(read_page, after)
            if events:
                yield b"".join(message(e) for e in events)
                quiet_since = loop.time()
            if full:
                continue
            if loop.time() - quiet_since >= KEEPALIVE_S:
                yield b": keep-alive\n\n"
                quiet_since = loop.time()
            await asyncio.sleep(poll_s)
    finally:
        slot.release()
