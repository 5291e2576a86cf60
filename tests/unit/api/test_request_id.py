"""Request ids: which presented ids are kept, and that every log line carries one."""

from __future__ import annotations

import io
import json
import logging
import logging.config

from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.errors import problem_body
from api.requestid import (
    NO_REQUEST,
    REQUEST_ID_MAX_CHARS,
    RequestIdMiddleware,
    accepted_request_id,
    current_request_id,
)
from azora.logs import logging_config

SAFE = "ABCxyz019._:@/+=-"


@given(st.text(alphabet=SAFE, min_size=1, max_size=REQUEST_ID_MAX_CHARS))
def test_a_safe_id_is_kept(presented: str) -> None:
    assert accepted_request_id(presented.encode()) == presented


@given(st.binary(max_size=300))
def test_anything_else_is_replaced_by_a_fresh_safe_id(presented: bytes) -> None:
    got = accepted_request_id(presented)
    text = presented.decode("latin-1")
    kept = 1 <= len(text) <= REQUEST_ID_MAX_CHARS and all(
        c in SAFE or (c.isalnum() and c.isascii()) for c in text
    )
    if kept:
        assert got == text
    else:
        assert got != text and len(got) == 32 and got.isalnum()


def test_too_long_spaces_and_newlines_are_replaced() -> None:
    for bad in (b"x" * (REQUEST_ID_MAX_CHARS + 1), b"a b", b"a\nINFO forged", b"", "é".encode()):
        assert accepted_request_id(bad) != bad.decode(errors="replace")
    assert accepted_request_id(None) != accepted_request_id(None)


def _app(log: logging.Logger) -> Starlette:
    async def hello(_request: Request) -> PlainTextResponse:
        log.warning("inside the request")
        return PlainTextResponse(str(problem_body("bad-request", "x").get("request_id")))

    app = Starlette(routes=[Route("/", hello)])
    return RequestIdMiddleware(app, log_access=True)  # type: ignore[return-value]


def test_the_id_is_echoed_in_problems_and_on_every_log_line() -> None:
    stream = io.StringIO()
    config = logging_config()
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        client = TestClient(_app(logging.getLogger("tests.requestid")))
        given_id = client.get("/", headers={"X-Request-Id": "caller-7"})
        assert given_id.headers["x-request-id"] == "caller-7" and given_id.text == "caller-7"
        made = client.get("/", headers={"X-Request-Id": "bad id\x7f"})
        made_id = made.headers["x-request-id"]
        assert made_id != "bad id\x7f" and made.text == made_id
        logging.getLogger("tests.requestid").warning("outside")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    lines = stream.getvalue().splitlines()
    assert any("[request_id=caller-7] inside the request" in line for line in lines), lines
    assert any(f"[request_id={made_id}] GET / 200" in line for line in lines), lines
    assert any(f"[request_id={NO_REQUEST}] outside" in line for line in lines), lines
    assert current_request_id() is None


def test_the_json_format_of_the_served_process_carries_the_id_on_each_line() -> None:
    stream = io.StringIO()
    config = logging_config(log_format="json")
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        client = TestClient(_app(logging.getLogger("tests.requestid")))
        client.get("/", headers={"X-Request-Id": "caller-8"})
        logging.getLogger("tests.requestid").warning("outside")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    inside = [line for line in lines if line["msg"] == "inside the request"]
    assert inside and inside[0]["request_id"] == "caller-8"
    outside = [line for line in lines if line["msg"] == "outside"]
    assert outside and "request_id" not in outside[0]
