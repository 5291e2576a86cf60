"""The Python client's change stream, webhooks and signature check, over a mock transport."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from azora_client import (
    AzoraClient,
    Events,
    NotFound,
    SignatureError,
    Webhooks,
    sign,
    verify_signature,
)
from azora_client.sse import Message, messages
from hypothesis import given
from hypothesis import strategies as st

from monetization.webhooks import signature_header

SECRET = "whsec_" + "cd" * 32
NOW = 1_900_000_000


def event(seq: int, kind: str = "transfer") -> dict[str, Any]:
    return {
        "seq": seq, "entry_id": f"00000000-0000-0000-0000-{seq:012d}", "type": "entry.posted",
        "kind": kind, "postings": [{"source": "world:card", "destination": "user:1:usd",
        "asset": "USD", "amount": "1.00"}], "metadata": {}, "effective_at": "2030-01-01T00:00:00Z",
        "recorded_at": "2030-01-01T00:00:00Z", "expires_at": None, "hold_id": None,
        "reverses_id": None, "hash": "0x" + "00" * 32,
    }  # fmt: skip


def sse(*seqs: int) -> bytes:
    frames = [b"retry: 10\n\n", b": keep-alive\n\n"]
    for seq in seqs:
        frames.append(
            f"id: {seq}\nevent: entry.posted\ndata: {json.dumps(event(seq))}\n\n".encode()
        )
    return b"".join(frames)


# --- signatures ---------------------------------------------------------------------------


@given(body=st.binary(max_size=1024), stamp=st.integers(0, 10**11))
def test_the_client_verifies_what_the_server_signs(body: bytes, stamp: int) -> None:
    header = signature_header(SECRET, stamp, body)
    assert sign(body, SECRET, stamp) == header
    assert verify_signature(body, header, SECRET, now_s=stamp) == stamp


def test_the_client_refuses_altered_stale_and_foreign_signatures() -> None:
    body = b'{"seq":1}'
    header = sign(body, SECRET, NOW)
    with pytest.raises(SignatureError, match="no v1"):
        verify_signature(body + b" ", header, SECRET, now_s=NOW)
    with pytest.raises(SignatureError, match="no v1"):
        verify_signature(body, header, "whsec_other", now_s=NOW)
    with pytest.raises(SignatureError, match="from now"):
        verify_signature(body, header, SECRET, now_s=NOW + 301)
    assert verify_signature(body, header, SECRET, now_s=NOW + 10, tolerance_s=10) == NOW
    for bad in (None, "", "t=1", "v1=ab", "t=x,v1=ab", "t=1,v1=é"):
        with pytest.raises(SignatureError):
            verify_signature(body, bad, SECRET, now_s=NOW)
    with pytest.raises(TypeError):
        verify_signature(body.decode(), header, SECRET, now_s=NOW)  # type: ignore[arg-type]


# --- the SSE parser -----------------------------------------------------------------------


def test_the_parser_follows_the_event_stream_rules() -> None:
    lines = ["retry: 1500", "", ": comment", "id: 7", "event: entry.posted", "data: a",
             "data:b", "", "data: lone", "", "id: 9", ""]  # fmt: skip
    assert list(messages(lines)) == [
        1500,
        Message("7", "entry.posted", "a\nb"),
        Message(None, "message", "lone"),
    ]


# --- the change stream ---------------------------------------------------------------------


def client_with(handler: Any) -> AzoraClient:
    transport = httpx.MockTransport(handler)
    return AzoraClient("http://ledger.test", "k", transport=transport, sleep=lambda _s: None)


def test_pages_and_iteration(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params["after_seq"])
        limit = int(request.url.params["limit"])
        seqs = list(range(after + 1, min(after + limit, 5) + 1))
        full = len(seqs) == limit
        return httpx.Response(200, json={"data": [event(s) for s in seqs],
                              "next_cursor": str(seqs[-1]) if full else None,
                              "last_seq": seqs[-1] if full else 5})  # fmt: skip

    events = Events(client_with(handler))
    page = events.page(after_seq=0, limit=2)
    assert [e.seq for e in page.data] == [1, 2] and page.next_cursor == "2"
    assert page.data[0].postings[0].amount == "1.00"
    assert [e.seq for e in events.iter(page_size=2)] == [1, 2, 3, 4, 5]


def test_the_stream_resumes_after_the_last_event_it_yielded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("azora_client.events.time.sleep", lambda _s: None)
    asked: list[str | None] = []
    answers = [
        httpx.Response(200, content=sse(1, 2), headers={"content-type": "text/event-stream"}),
        httpx.Response(503, json={"type": "https://azora.dev/problems/unavailable"}),
        httpx.Response(200, content=sse(3), headers={"content-type": "text/event-stream"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/event-stream"
        asked.append(request.headers.get("last-event-id"))
        return answers.pop(0)

    got = list(Events(client_with(handler)).stream(after_seq=0, max_reconnects=2))
    assert [e.seq for e in got] == [1, 2, 3]
    assert asked == ["0", "2", "2"]


def test_the_stream_raises_problems_that_retrying_cannot_fix() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"type": "https://azora.dev/problems/not-found"})

    with pytest.raises(NotFound):
        list(Events(client_with(handler)).stream())


def test_webhook_creation_is_sent_once() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"type": "https://azora.dev/problems/unavailable"})

    with pytest.raises(Exception, match="503"):
        Webhooks(client_with(handler)).create("https://hooks.example.com/")
    assert len(calls) == 1


def test_the_readme_verification_snippet_works_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    [snippet] = [b for b in blocks if "def handle(body: bytes" in b]
    monkeypatch.setenv("AZORA_WEBHOOK_SECRET", SECRET)
    scope: dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # the README's own code
    body = json.dumps(event(1)).encode()
    header = sign(body, SECRET, int(time.time()))
    assert scope["handle"](body, {"Azora-Signature": header}) == 200
    assert scope["handle"](body + b" ", {"Azora-Signature": header}) == 400
    assert scope["handle"](body, {}) == 400
    stale = sign(body, SECRET, int(time.time()) - 600)
    assert scope["handle"](body, {"Azora-Signature": stale}) == 400
