"""Request latency: a pure ASGI middleware, and the histogram it fills.

Latency is kept per process, by method, route template (never the concrete path: ids would
make unbounded series) and status class, in fixed buckets, and rendered in Prometheus text
with the worker's pid as a label: each worker process counts its own requests. Request ids
are :mod:`api.requestid`'s (its middleware sits outside this one).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_SERIES = 2000  # (method, route, status class) combinations kept per process
UNMATCHED = "<unmatched>"
_OBSERVED = "azora.observed"  # scope key: this request's latency is being measured


@dataclass
class _Series:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))
    total_s: float = 0.0
    count: int = 0


class LatencyHistogram:
    """Request durations by (method, route template, status class); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], _Series] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, f"{status // 100}xx")
        with self._lock:
            series = self._series.get(key)
            if series is None:
                if len(self._series) >= MAX_SERIES:
                    key = (method, UNMATCHED, key[2])
                series = self._series.setdefault(key, _Series())
            series.buckets[bisect.bisect_left(BUCKETS_S, seconds)] += 1
            series.total_s += seconds
            series.count += 1

    def render(self) -> list[str]:
        name = "azora_http_request_duration_seconds"
        lines = [
            f"# HELP {name} HTTP request latency by route template, per worker process.",
            f"# TYPE {name} histogram",
        ]
        pid = os.getpid()
        with self._lock:
            items = sorted(self._series.items())
            for (method, route, status), series in items:
                labels = f'method="{method}",route="{_escape(route)}",status="{status}",pid="{pid}"'
                running = 0
                for bound, count in zip((*BUCKETS_S, "+Inf"), series.buckets, strict=True):
                    running += count
                    lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
                lines.append(f"{name}_sum{{{labels}}} {series.total_s:.6f}")
                lines.append(f"{name}_count{{{labels}}} {series.count}")
        return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
            self.histogram.observe(
                scope.get("method", "?"), route, status, time.perf_counter() - started
            )
