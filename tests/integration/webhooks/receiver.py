"""A real local HTTP receiver for webhook deliveries (a thread per request)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS = range(28100, 28200)  # this suite's receivers


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float


class Receiver:
    """Records every POST; ``answer(path, n)`` (n = the path's request count, from 1) gives
    the status, default 200. ``delay_s`` holds each request that long (overlap detection)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer: Callable[[str, int], int] = lambda _path, _n: 200
        self.delay_s = 0.0
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0
        self._lock = threading.Lock()
        self._server = self._bind()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _bind(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, *_args: object) -> None:
                pass

        for port in PORTS:
            try:
                return ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError:
                continue
        raise RuntimeError("no free port in 28100-28199")

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        length = int(request.headers.get("Content-Length", "0"))
        body = request.rfile.read(length)
        with self._lock:
            self.in_flight[request.path] = self.in_flight.get(request.path, 0) + 1
            if self.in_flight[request.path] > 1:
                self.overlaps += 1
            count = 1 + sum(1 for r in self.received if r.path == request.path)
        if self.delay_s:
            time.sleep(self.delay_s)
        status = self.answer(request.path, count)
        with self._lock:
            self.in_flight[request.path] -= 1
            if 200 <= status < 300:
                pass
            self.received.append(
                Received(request.path, dict(request.headers), body, started, time.monotonic())
            )
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
