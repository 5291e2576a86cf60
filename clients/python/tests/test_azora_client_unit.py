"""The client's retry and decoding rules, against a scripted transport (no server)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from azora_client import (
    AzoraClient,
    CapReached,
    Conflict,
    InsufficientFunds,
    NotAnchored,
    Posting,
    ServerError,
    TransportFailure,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ENTRY = {
    "id": "6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10",
    "seq": 7,
    "type": "posted",
    "status": "posted",
    "kind": "transfer",
    "postings": [{"source": "a:1", "destination": "b:1", "asset": "USD", "amount": "1.00"}],
    "metadata": {},
    "effective_at": "2030-01-01T00:00:00Z",
    "recorded_at": "2030-01-01T00:00:00Z",
    "expires_at": None,
    "hold_id": None,
    "reverses_id": None,
    "idempotency_key": "k",
    "added_later": "ignored",
}
MOVE = [Posting("a:1", "b:1", "USD", "1")]


def _problem(status: int, code: str, **extra: object) -> httpx.Response:
    body = {"type": f"https://azora.dev/problems/{code}", "title": code, "status": status}
    return httpx.Response(status, json={**body, "detail": code, **extra})


def _client(answers: list[Callable[[], httpx.Response]], seen: list[httpx.Request]) -> AzoraClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)()

    return AzoraClient(
        "http://azora.test", "k", transport=httpx.MockTransport(handle), sleep=lambda _s: None
    )


def _timeout() -> httpx.Response:
    raise httpx.ReadTimeout("lost")


@settings(max_examples=30, deadline=None)
@given(
    failures=st.lists(
        st.sampled_from(["timeout", "reset", 500, 502, 503, 429]), min_size=0, max_size=4
    ),
    key=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True)),
)
def test_every_retry_sends_the_same_key(failures: list[object], key: str | None) -> None:
    answers: list[Callable[[], httpx.Response]] = []
    for failure in failures:
        if failure == "timeout":
            answers.append(_timeout)
        elif failure == "reset":
            answers.append(lambda: (_ for _ in ()).throw(httpx.ConnectError("reset")))
        else:
            answers.append(lambda f=failure: _problem(int(f), "unavailable"))  # type: ignore[misc]
    answers.append(lambda: httpx.Response(201, json=ENTRY, headers={"Idempotent-Replayed": "true"}))
    seen: list[httpx.Request] = []
    entry = _client(answers, seen).post_entry("transfer", MOVE, idempotency_key=key)
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(seen) == len(failures) + 1 and len(keys) == 1
    if key is not None:
        assert keys == {key}
    assert entry.replayed and entry.seq == 7 and entry.postings[0].amount == "1.00"
    assert json.loads(seen[0].content) == json.loads(seen[-1].content)


def test_a_made_key_is_fresh_per_logical_request() -> None:
    seen: list[httpx.Request] = []
    client = _client([lambda: httpx.Response(201, json=ENTRY)] * 2, seen)
    client.post_entry("transfer", MOVE)
    client.post_entry("transfer", MOVE)
    first, second = (r.headers["Idempotency-Key"] for r in seen)
    assert first != second and len(first) == 36


def test_refusals_are_typed_and_never_retried() -> None:
    for code, status, cls in (
        ("insufficient-funds", 409, InsufficientFunds),
        ("cap-reached", 422, CapReached),
        ("not-anchored", 409, NotAnchored),
        ("other-conflict", 409, Conflict),
    ):
        seen: list[httpx.Request] = []
        client = _client([lambda c=code, s=status: _problem(s, c, request_id="r-1")], seen)  # type: ignore[misc]
        with pytest.raises(cls) as raised:
            client.get_entry("6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10")
        assert len(seen) == 1 and raised.value.request_id == "r-1" and raised.value.code == code


def test_bounded_retries_then_a_typed_failure() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ServerError):
        _client([lambda: _problem(500, "internal-error")] * 5, seen).get_account("a:1")
    assert len(seen) == 5
    seen.clear()
    with pytest.raises(TransportFailure):
        _client([_timeout] * 5, seen).get_account("a:1")
    assert len(seen) == 5


def test_proof_retry_after_is_surfaced() -> None:
    seen: list[httpx.Request] = []
    answer = _problem(409, "not-anchored")
    answer.headers["Retry-After"] = "12"
    with pytest.raises(NotAnchored) as raised:
        _client([lambda: answer], seen).entry_proof("6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10")
    assert raised.value.retry_after_s == 12
