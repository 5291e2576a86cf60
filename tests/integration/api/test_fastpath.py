"""The write routes' direct path (api/fastpath.py) answers exactly what the full app does.

Each request is sent twice: once as it comes (the direct path may take it) and once with a
dependency override set, which turns the direct path off, so FastAPI's routes answer. The
two answers must match (status, problem type, body shape, the headers a client reads);
and the direct path must actually have answered the common cases (not only passed them on).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from api import fastpath
from api.routers import entries
from tests.integration.api.conftest import ADMIN, Api, bearer, make_client

_keys = itertools.count()
VOLATILE = {"id", "seq", "recorded_at", "effective_at", "idempotency_key", "request_id"}


def _posting(source: str, destination: str, amount: str) -> dict[str, str]:
    return {"source": source, "destination": destination, "asset": "USD", "amount": amount}


def _normal(data: Any) -> Any:
    """The answer without what differs between two writes (ids, seq, instants, keys)."""
    if isinstance(data, dict):
        return {k: _normal(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [_normal(v) for v in data]
    if isinstance(data, str):  # a detail naming a key or an entry id
        return re.sub(r"fp-[\w-]+", "KEY", data.split("entry ")[0])
    return data


@pytest.fixture
def direct(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts the requests the direct path answered itself."""
    answered: list[str] = []

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any) -> Any:
            answered.append(name)
            return await real(*args)

        return wrapper

    monkeypatch.setattr(fastpath, "record_entry", counting("single", entries.record_entry))
    monkeypatch.setattr(fastpath, "record_batch", counting("batch", entries.record_batch))
    yield answered


def _send(api: Api, path: str, body: bytes, headers: dict[str, str], *, full: bool) -> Any:
    app = api.client.app
    overrides = app.dependency_overrides  # type: ignore[attr-defined]
    if full:
        overrides[_send] = lambda: None  # any override turns the direct path off
    try:
        response = api.client.post(path, content=body, headers=headers)
    finally:
        overrides.clear()
    try:
        data = response.json()
    except ValueError:
        data = response.text
    seen = {h: response.headers.get(h) for h in ("content-type", "retry-after", "www-authenticate")}
    seen["replayed"] = response.headers.get("idempotent-replayed")
    return response.status_code, _normal(data), seen


def _both(api: Api, path: str, body: Any, headers: dict[str, str], key: bool = True) -> Any:
    """Send ``body`` the direct way and the full way (each with a fresh key); same answer."""
    answers = []
    for full in (False, True):
        made = body() if callable(body) else body
        raw = made if isinstance(made, bytes) else json.dumps(made).encode()
        sent = {"Content-Type": "application/json", **headers}
        if key:
            sent["Idempotency-Key"] = f"fp-{next(_keys)}"
        answers.append(_send(api, path, raw, sent, full=full))
    assert answers[0] == answers[1]
    return answers[0]


TRANSFER = {"kind": "transfer", "postings": [_posting("world:card", "user:bob:usd", "1.25")]}


def test_common_cases_are_answered_directly_and_alike(api: Api, direct: list[str]) -> None:
    writer = bearer(api.writer)
    assert _both(api, "/v1/entries", TRANSFER, writer)[0] == 201
    assert _both(api, "/v1/entries", TRANSFER, ADMIN)[0] == 201
    overdraft = {
        "kind": "transfer",
        "postings": [_posting("user:bob:usd", "user:alice:usd", "1000000")],
    }
    status, problem, _ = _both(api, "/v1/entries", overdraft, writer)
    assert status == 409 and problem["type"].endswith("insufficient-funds")
    unknown = {"kind": "transfer", "postings": [_posting("world:card", "user:nobody:usd", "1")]}
    assert _both(api, "/v1/entries", unknown, writer)[0] == 422
    batch = lambda: {  # noqa: E731 - fresh keys per send
        "entries": [
            {**TRANSFER, "idempotency_key": f"fp-b-{next(_keys)}"},
            {**unknown, "idempotency_key": f"fp-b-{next(_keys)}"},
            {
                **TRANSFER,
                "postings": [_posting("world:card", "user:bob:usd", "1.001")],
                "idempotency_key": f"fp-b-{next(_keys)}",
            },
        ]
    }
    status, results, _ = _both(api, "/v1/entries/batch", batch, writer, key=False)
    assert status == 200
    statuses = [r["status"] for r in results["results"]]
    assert statuses[0] == 201 and statuses[1] >= 400 and statuses[2] >= 400
    assert direct == ["single"] * 4 + ["batch"]


def test_replays_and_conflicts_match(api: Api, direct: list[str]) -> None:
    answers = []
    for full in (False, True):
        key = f"fp-replay-{next(_keys)}"
        headers = {**bearer(api.writer), "Content-Type": "application/json", "Idempotency-Key": key}
        first = _send(api, "/v1/entries", json.dumps(TRANSFER).encode(), headers, full=full)
        again = _send(api, "/v1/entries", json.dumps(TRANSFER).encode(), headers, full=full)
        other = {**TRANSFER, "kind": "transfer.other"}
        conflict = _send(api, "/v1/entries", json.dumps(other).encode(), headers, full=full)
        assert first[0] == 201 and again[0] == 201 and conflict[0] == 409
        assert again[1] == first[1] and again[2]["replayed"] is not None
        answers.append((first, again, conflict))
    assert answers[0] == answers[1]
    assert direct.count("single") == 3


@pytest.mark.parametrize(
    ("body", "headers", "key"),
    [
        (TRANSFER, {}, False),  # no Idempotency-Key
        (TRANSFER, {"Idempotency-Key": "bad key!"}, False),
        (b'{"kind": "transfer", "postings": [', {}, True),  # not JSON
        ({**TRANSFER, "extra": 1}, {}, True),
        ({"kind": "transfer", "postings": [_posting("world:card", "user:bob:usd", "x")]}, {}, True),
        (
            {"kind": "transfer", "postings": [_posting("world:card", "user:bob:usd", "1.001")]},
            {},
            True,
        ),
        ({"kind": "transfer", "postings": []}, {}, True),
        (TRANSFER, {"Content-Type": "text/plain"}, True),
    ],
)
def test_refusals_go_to_the_full_app(
    api: Api, direct: list[str], body: Any, headers: dict[str, str], key: bool
) -> None:
    status, _, _ = _both(api, "/v1/entries", body, {**bearer(api.writer), **headers}, key)
    assert status >= 400
    assert direct == []


@pytest.mark.parametrize("who", ["none", "reader", "user", "unknown", "basic", "malformed"])
def test_credentials_without_entries_write_go_to_the_full_app(
    api: Api, direct: list[str], who: str
) -> None:
    headers = {
        "none": {},
        "reader": bearer(api.reader),
        "user": bearer(api.alice),
        "unknown": bearer("azora_0123456789abcdef_" + "x" * 43),
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed": bearer("not-a-key"),
    }[who]
    status, problem, _ = _both(api, "/v1/entries", TRANSFER, headers)
    assert status in (401, 403, 404), problem
    assert direct == []
    for body in (b"", b"{}"):
        assert _both(api, "/v1/entries/batch", body, headers, key=False)[0] in (401, 403, 404, 422)


def test_oversized_and_chunked_bodies_go_to_the_full_app(pg_url: str) -> None:
    with make_client(pg_url, max_body_bytes=1024) as client:
        big = json.dumps({**TRANSFER, "metadata": {"note": "x" * 2000}}).encode()
        headers = {**ADMIN, "Content-Type": "application/json", "Idempotency-Key": "big-1"}
        assert client.post("/v1/entries", content=big, headers=headers).status_code == 413

        def chunks() -> Iterator[bytes]:
            yield big[:500]
            yield big[500:]

        chunked = client.post("/v1/entries", content=chunks(), headers=headers)
        assert chunked.status_code == 413


def test_rate_limit_spends_one_token_per_request(pg_url: str) -> None:
    with make_client(pg_url, rate_limit_per_s=0.001, rate_limit_burst=3) as client:
        client.post(
            "/v1/accounts",
            json={"id": "world:rl", "asset": "USD", "allow_negative": True},
            headers=ADMIN,
        )  # one token
        body = {"kind": "transfer", "postings": [_posting("world:rl", "world:rl", "1")]}
        answers = [
            client.post("/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": f"rl-{i}"})
            for i in range(5)
        ]
        codes = [a.status_code for a in answers]
        assert codes[2:] == [429, 429, 429] and 429 not in codes[:2], codes  # tokens 2 and 3
        assert answers[2].headers["retry-after"]
        assert answers[2].json()["type"].endswith("rate-limited")


def test_the_direct_path_answers_with_the_request_id_and_counts_latency(
    api: Api, direct: list[str]
) -> None:
    writer = {"Content-Type": "application/json", **bearer(api.writer)}
    body = json.dumps(TRANSFER).encode()
    given = api.client.post(
        "/v1/entries",
        content=body,
        headers={**writer, "Idempotency-Key": f"fp-{next(_keys)}", "X-Request-Id": "trace-7.a"},
    )
    assert given.status_code == 201 and direct == ["single"]
    assert given.headers.get_list("x-request-id") == ["trace-7.a"]
    made = api.client.post("/v1/entries", content=body, headers={**writer, "Idempotency-Key": "!"})
    # Handed to the full application (a bad key): one id, the same in header and body.
    assert made.status_code == 400 and direct == ["single"]
    [header] = made.headers.get_list("x-request-id")
    assert made.json()["request_id"] == header
    latency = "\n".join(api.client.app.state.latency.render())  # type: ignore[attr-defined]
    assert 'route="/v1/entries",status="2xx"' in latency
    assert 'route="/v1/entries",status="4xx"' in latency


def test_a_failure_checking_the_credentials_goes_to_the_full_app(
    api: Api, direct: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking the key fails (its store unavailable, say): the direct path has done nothing
    yet, so the full application takes the request and answers it its way, request id
    included."""

    async def failing(*_args: Any) -> Any:
        raise RuntimeError("the key store is unavailable")

    monkeypatch.setattr(fastpath, "authenticate", failing)
    headers = {
        **bearer(api.writer),
        "Content-Type": "application/json",
        "Idempotency-Key": f"fp-{next(_keys)}",
    }
    response = api.client.post("/v1/entries", content=json.dumps(TRANSFER), headers=headers)
    assert response.status_code == 201  # the full app's own check of the same key succeeds
    assert response.headers.get("x-request-id")
    assert direct == []
