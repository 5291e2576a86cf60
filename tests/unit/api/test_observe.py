"""Request ids, the latency histogram and the JSON log format, with no I/O."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI

from api.observe import BUCKETS_S, LatencyHistogram, RequestObserver
from api.requestid import RequestIdMiddleware, current_request_id
from azora.logs import JsonFormatter


def _app(histogram: LatencyHistogram, seen: list[str | None]) -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: str) -> dict[str, str]:
        seen.append(current_request_id())
        return {"id": thing_id}

    app.add_middleware(RequestObserver, histogram=histogram)
    app.add_middleware(RequestIdMiddleware, log_access=False)
    return app


@pytest.mark.parametrize(
    ("given", "kept"),
    [("abc-123.x:y", True), ("", False), ("bad id with spaces", False), ("x" * 129, False)],
)
def test_a_safe_request_id_is_kept_any_other_replaced(given: str, kept: bool) -> None:
    from fastapi.testclient import TestClient

    seen: list[str | None] = []
    client = TestClient(_app(LatencyHistogram(), seen))
    answer = client.get("/things/1", headers={"X-Request-Id": given} if given else {})
    sent = answer.headers["x-request-id"]
    assert (sent == given) is kept
    assert len(sent) <= 128 and " " not in sent
    assert seen == [sent], "the handler runs under the id it answers with"


def test_latency_is_counted_by_route_template_not_by_path() -> None:
    from fastapi.testclient import TestClient

    histogram = LatencyHistogram()
    client = TestClient(_app(histogram, []))
    for n in range(3):
        client.get(f"/things/{n}")
    client.get("/nowhere")
    text = "\n".join(histogram.render())
    assert 'route="/things/{thing_id}",status="2xx"' in text
    assert 'route="<unmatched>",status="4xx"' in text
    assert "/things/1" not in text
    count = [line for line in text.splitlines() if "_count" in line and "thing_id" in line]
    assert count and count[0].endswith(" 3")
    inf = [line for line in text.splitlines() if 'le="+Inf"' in line and "thing_id" in line]
    assert inf[0].endswith(" 3"), "the +Inf bucket counts every request"


def test_buckets_are_cumulative() -> None:
    histogram = LatencyHistogram()
    for seconds in (0.001, 0.02, 0.02, 30.0):
        histogram.observe_request("GET", "/r", 200, seconds)
    lines = [line for line in histogram.render() if "_bucket" in line]
    counts = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert len(counts) == len(BUCKETS_S) + 1
    assert counts == sorted(counts) and counts[0] == 1 and counts[-1] == 4


def test_json_log_lines_carry_the_message_and_no_request_id_outside_requests() -> None:
    record = logging.LogRecord("azora.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello you" and line["level"] == "warning" and line["logger"] == "azora.x"
    assert "request_id" not in line
