"""Bounds on what one client can ask: request body size and request rate."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_MEDIA_TYPE, problem_body

RATE_BUCKETS_MAX = 100_000  # principals remembered per process before stale ones are dropped


class BodySizeLimit:
    """Pure ASGI middleware answering 413 to a body over ``max_bytes``.

    A declared ``Content-Length`` is checked before anything is read; a chunked body is
    read up to the limit (so at most ``max_bytes`` are ever buffered) and then replayed.
    ``streamed`` names routes (a path pattern, their own limit) that read their body as a
    stream and bound it themselves (uploads): only a declared length is checked here.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        streamed: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app, self.max_bytes, self.streamed = app, max_bytes, tuple(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length")
        stream_limit = next(
            (limit for path, limit in self.streamed if path.fullmatch(scope.get("path", ""))),
            None,
        )
        limit = self.max_bytes if stream_limit is None else stream_limit
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await self._refuse(send, limit)
                return
            await self.app(scope, receive, send)
            return
        if stream_limit is not None or b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send, self.max_bytes)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            problem_body("payload-too-large", f"request bodies are limited to {limit} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class Limiter(Protocol):
    """What the HTTP layer asks of a rate limiter (in-process or shared)."""

    async def acquire(self, principal: str) -> float:
        """Spend one of ``principal``'s tokens: 0 if allowed, else seconds to wait."""
        ...


class RateLimiter:
    """A token bucket per principal: ``rate_per_s`` sustained, ``burst`` at once.

    In-process: with N workers a principal gets up to N times the rate. What SQLite (one
    process) and the shared limiter's fallback use; PostgreSQL deployments share one bucket
    per principal across processes (:class:`api.ratestore.SharedRateLimiter`).
    """

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        assert rate_per_s > 0 and burst >= 1
        self.rate_per_s, self.burst, self.clock = rate_per_s, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    async def acquire(self, principal: str) -> float:
        """:meth:`take`, as the HTTP layer calls every limiter."""
        return self.take(principal)

    def take(self, principal: str) -> float:
        """Spend one token; 0 if allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(principal, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate_per_s)
            if tokens >= 1.0:
                if len(self._buckets) >= RATE_BUCKETS_MAX:
                    self._forget_full(now)
                self._buckets[principal] = (tokens - 1.0, now)
                return 0.0
            self._buckets[principal] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket at all.
        full_after_s = self.burst / self.rate_per_s
        for key in [k for k, (_t, last) in self._buckets.items() if now - last > full_after_s]:
            del self._buckets[key]


def retry_after_header(wait_s: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait_s)))}
