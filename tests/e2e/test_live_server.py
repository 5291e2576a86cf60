"""Behaviour only a real server shows: concurrency, the CLI, the Python client's retries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from azora_client import (
    AzoraClient,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    NewEntry,
    NotFound,
    Posting,
    TransportFailure,
    Unauthorized,
)

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.integration

CONCURRENT_REQUESTS = 32


@pytest.fixture(scope="module")
def azora(server: LiveServer, admin_key: str) -> AzoraClient:
    client = AzoraClient(server.url, admin_key)
    client.create_account("world:e2e", "USD", allow_negative=True)
    for name in ("carol", "dave"):
        client.create_account(f"user:{name}:usd", "USD")
    client.post_entry(
        "deposit",
        [Posting("world:e2e", "user:carol:usd", "USD", "1000")],
        idempotency_key="fund-carol",
    )
    return client


def test_concurrent_requests_with_one_key_make_one_entry(
    server: LiveServer, admin_key: str, azora: AzoraClient
) -> None:
    body = {
        "kind": "transfer",
        "postings": [
            {
                "source": "user:carol:usd",
                "destination": "user:dave:usd",
                "asset": "USD",
                "amount": "1.25",
            }
        ],
    }
    headers = {"Authorization": f"Bearer {admin_key}", "Idempotency-Key": "race-1"}

    def send(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/v1/entries", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
        answers = list(pool.map(send, range(CONCURRENT_REQUESTS)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert azora.get_account("user:dave:usd").balance == "1.25"
    assert len(azora.history("user:dave:usd").data) == 1


class LoseFirstResponses(httpx.BaseTransport):
    """Delivers each request, then pretends the first ``n`` answers were lost."""

    def __init__(self, n: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = n
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        response = self.inner.handle_request(request)
        if self.lost > 0:
            self.lost -= 1
            response.close()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_client_retries_reuse_one_key_and_post_once(server: LiveServer, admin_key: str) -> None:
    transport = LoseFirstResponses(2)
    with AzoraClient(server.url, admin_key, transport=transport, sleep=lambda _s: None) as client:
        entry = client.post_entry(
            "transfer", [Posting("user:carol:usd", "user:dave:usd", "USD", "2")]
        )
        assert entry.replayed, "the third attempt finds the entry the first one made"
        assert len(transport.keys) == 3 and len(set(transport.keys)) == 1
        lines = client.history("user:dave:usd").data
        assert [line.entry_id for line in lines].count(entry.id) == 1


def test_client_gives_up_after_bounded_retries(server: LiveServer, admin_key: str) -> None:
    transport = LoseFirstResponses(100)
    with (
        AzoraClient(
            server.url, admin_key, transport=transport, max_retries=2, sleep=lambda _s: None
        ) as client,
        pytest.raises(TransportFailure),
    ):
        client.get_account("user:carol:usd")
    assert len(transport.keys) == 3


def test_client_surfaces_problem_types(azora: AzoraClient) -> None:
    move = [Posting("user:dave:usd", "user:carol:usd", "USD", "1000000")]
    with pytest.raises(InsufficientFunds) as refused:
        azora.post_entry("transfer", move)
    assert refused.value.status == 409 and refused.value.problem["account_id"] == "user:dave:usd"
    with pytest.raises(InvalidAmount):
        azora.post_entry("transfer", [Posting("user:dave:usd", "user:carol:usd", "USD", "1.001")])
    azora.post_entry(
        "transfer",
        [Posting("user:carol:usd", "user:dave:usd", "USD", "1")],
        idempotency_key="client-k",
    )
    with pytest.raises(IdempotencyConflict):
        azora.post_entry(
            "transfer",
            [Posting("user:carol:usd", "user:dave:usd", "USD", "2")],
            idempotency_key="client-k",
        )
    with pytest.raises(NotFound):
        azora.get_entry("00000000-0000-0000-0000-000000000000")


def test_client_batch_and_holds(azora: AzoraClient) -> None:
    ok = NewEntry("transfer", [Posting("user:carol:usd", "user:dave:usd", "USD", "3")])
    bad = NewEntry("transfer", [Posting("user:carol:usd", "user:nobody:usd", "USD", "3")])
    first, second = azora.post_entries([ok, bad])
    assert first.status == 201 and first.entry is not None and first.error is None
    assert second.status == 422 and second.error is not None
    assert second.error.code == "unknown-account"
    hold = azora.post_entry(
        "reserve", [Posting("user:carol:usd", "user:dave:usd", "USD", "7")], pending=True
    )
    assert azora.get_account("user:carol:usd").pending_out == "7.00"
    voided = azora.void_hold(hold.id)
    assert voided.status == "voided" and voided.resolution is not None
    assert azora.get_entry(hold.id).status == "voided"
    assert len(list(azora.iter_history("user:dave:usd", page_size=2))) >= 4


def test_cli_keys_and_tokens(server: LiveServer, azora: AzoraClient) -> None:
    made = server.azora("keys", "create", "--scopes", "ledger:read", "--name", "e2e-reader")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    reader = AzoraClient(server.url, key, max_retries=0)
    assert reader.get_account("user:carol:usd").asset == "USD"
    key_id = key.split("_")[1]
    assert key_id in server.azora("keys", "list").stdout
    assert server.azora("keys", "revoke", key_id).returncode == 0
    with pytest.raises(Unauthorized):
        reader.get_account("user:carol:usd")

    issued = server.azora("tokens", "issue", "--user", "carol")
    assert issued.returncode == 0, issued.stderr
    carol = AzoraClient(server.url, issued.stdout.strip(), max_retries=0)
    assert carol.get_account("user:carol:usd").id == "user:carol:usd"
    with pytest.raises(NotFound):
        carol.get_account("user:dave:usd")
    bad = server.azora("keys", "create", "--scopes", "root")
    assert bad.returncode != 0 and "unknown scope" in bad.stderr


def test_problem_documents_for_unknown_routes(server: LiveServer) -> None:
    got: Any = httpx.get(f"{server.url}/v1/nothing-here")
    assert got.status_code == 404
    assert got.headers["content-type"] == "application/problem+json"
