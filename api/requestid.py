"""Request ids: accepted from ``X-Request-Id`` or made here, echoed, logged, and in problems.

A caller (or a proxy in front) may send ``X-Request-Id``; a value of 1-128 characters of
``[A-Za-z0-9._:@/+=-]`` is kept, anything else (too long, spaces, control or non-ASCII
characters: what could forge a log line) is replaced by a fresh one. The id is answered in
the ``X-Request-Id`` header of every response, carried by every problem body
(``request_id``) and by every log line written while the request runs
(:class:`RequestIdFilter`), so one id finds a caller's request in the logs.
"""

from __future__ import annotations

import logging
import re
import time
from contextvars import ContextVar, Token

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.randomness import random_bytes

HEADER = "X-Request-Id"
REQUEST_ID_MAX_CHARS = 128
REQUEST_ID_RE = re.compile(rf"[A-Za-z0-9._:@/+=-]{{1,{REQUEST_ID_MAX_CHARS}}}")
NO_REQUEST = "-"  # what log lines outside any request carry

_current: ContextVar[str | None] = ContextVar("azora_request_id", default=None)
access_log = logging.getLogger("azora.access")


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _current.get()


def new_request_id() -> str:
    return random_bytes(16).hex()


def accepted_request_id(presented: bytes | None) -> str:
    """``presented`` when it is a safe id, else a new one."""
    if presented is not None:
        try:
            text = presented.decode("ascii")
        except UnicodeDecodeError:
            return new_request_id()
        if REQUEST_ID_RE.fullmatch(text):
            return text
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or NO_REQUEST
        return True


class RequestIdMiddleware:
    """Pure ASGI middleware: sets the request id for the request's context and answers it.

    With ``log_access``, writes one access line per request (method, path, status,
    duration) through the ``azora.access`` logger, so access lines carry the id too.
    """

    def __init__(self, app: ASGIApp, *, log_access: bool = False) -> None:
        self.app, self.log_access = app, log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _current.get() is not None:
            # Not HTTP, or inside a request that already has its id (the write routes'
            # direct path handing a request to the full application): that one answers it.
            await self.app(scope, receive, send)
            return
        presented = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
        request_id = accepted_request_id(presented)
        token = _current.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.log_access:
                log_access(scope, status, started)
            _current.reset(token)


def enter_request(presented: bytes | None) -> tuple[str, Token[str | None]]:
    """The id of a request whose answer is sent without :class:`RequestIdMiddleware` (the
    write routes' direct path), set for its context; reset the token when it is answered."""
    request_id = accepted_request_id(presented)
    return request_id, _current.set(request_id)


def leave_request(token: Token[str | None]) -> None:
    _current.reset(token)


def log_access(scope: Scope, status: int, started: float) -> None:
    """The access line of a request answered ``status`` (``started``: its perf_counter)."""
    elapsed_ms = (time.perf_counter() - started) * 1000
    path = scope["path"].encode("unicode_escape").decode("ascii")  # one line
    access_log.info("%s %s %d %.1fms", scope["method"], path, status, elapsed_ms)
