"""Request latency: a pure ASGI middleware, and the histogram it fills.

Latency is kept per process, by method, route template (never the concrete path: ids would
make unbounded series) and status class, in fixed buckets, and rendered in Prometheus text
with the worker's pid as a label: each worker process counts its own requests. Request ids
are :mod:`api.requestid`'s (its middleware sits outside this one).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Histogram

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_SERIES = 2000  # (method, route, status class) combinations kept per process
UNMATCHED = "<unmatched>"
_OBSERVED = "azora.observed"  # scope key: this request's latency is being measured


class LatencyHistogram(Histogram):
    """Request durations by (method, route template, status class); thread-safe."""

    def __init__(self) -> None:
        super().__init__(
            "azora_http_request_duration_seconds",
            "HTTP request latency by route template, per worker process.",
            BUCKETS_S,
            ("method", "route", "status"),
            max_series=MAX_SERIES,
            overflow=lambda values: (values[0], UNMATCHED, values[2]),
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.observe(seconds, method, route, f"{status // 100}xx")


class RequestObserver:
    """Pure ASGI middleware: each request's latency into the histogram."""

    def __init__(self, app: ASGIApp, histogram: LatencyHistogram) -> None:
        self.app, self.histogram = app, histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(_OBSERVED):
            await self.app(scope, receive, send)  # counted once, by the outermost observer
            return
        scope[_OBSERVED] = True
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.histogram.observe_request(
                scope.get("method", "?"), route, status, time.perf_counter() - started
            )
