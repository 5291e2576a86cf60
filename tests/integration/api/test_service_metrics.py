"""/metrics' own figures move by what a test did: ledger writes (outcomes, head-lock waits,
batch sizes), charges, chain RPC errors, the webhook backlog; /readyz with the chain or
the database down. Expected values come from the test's own requests, never totals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web3.types import RPCEndpoint

from chain.localnode import start_anvil
from monetization.webhooks import DeliveryStatus
from tests.integration.api.conftest import (
    ADMIN,
    Api,
    bearer,
    chain_down_app,
    closed_port,
    samples,
    unstarted_app,
)
from tests.integration.webhooks.receiver import Receiver

pytestmark = pytest.mark.integration

ENTRIES = "azora_ledger_entries_total"
LOCK = "azora_ledger_head_lock_wait_seconds"
BATCH = "azora_ledger_batch_entries"


def _scrape(client: TestClient) -> dict[str, float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    return samples(answer.text)


def _moved(before: dict[str, float], after: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def _transfer(amount: str, key: str | None = None, to: str = "user:bob:usd") -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "transfer",
        "postings": [
            {"source": "user:alice:usd", "destination": to, "asset": "USD", "amount": amount}
        ],
    }
    return body if key is None else {**body, "idempotency_key": key}


def test_entries_by_outcome_lock_waits_and_batch_sizes_move_by_what_was_posted(api: Api) -> None:
    before = _scrape(api.client)
    writer = bearer(api.writer)
    singles = [("m-1", "1"), ("m-2", "2"), ("m-3", "3"), ("m-1", "1"), ("m-4", "5000")]
    statuses = []
    for key, amount in singles:
        made = api.client.post(
            "/v1/entries", json=_transfer(amount), headers={**writer, "Idempotency-Key": key}
        )
        statuses.append((made.status_code, made.headers.get("idempotent-replayed") == "true"))
    assert statuses == [(201, False), (201, False), (201, False), (201, True), (409, False)]
    batch = [
        _transfer("4", "b-1"),
        _transfer("6000", "b-2"),  # more than alice has
        _transfer("1", "b-3", to="user:ghost:usd"),  # no such account
        _transfer("4", "b-1"),  # the same key again: the first one's entry
        _transfer("2", "b-4"),
    ]
    got = api.client.post("/v1/entries/batch", json={"entries": batch}, headers=writer)
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    batch_committed = sum(r["status"] == 201 and not r.get("replayed") for r in results)
    batch_replayed = sum(bool(r.get("replayed")) for r in results)
    batch_rejected = sum(r["status"] >= 400 for r in results)
    assert (batch_committed, batch_replayed, batch_rejected) == (2, 1, 2), results

    after = _scrape(api.client)
    single_committed = sum(s == (201, False) for s in statuses)
    expected = {
        "committed": single_committed + batch_committed,
        "replayed": sum(replayed for _, replayed in statuses) + batch_replayed,
        "rejected": sum(code >= 400 for code, _ in statuses) + batch_rejected,
        "unavailable": 0,
    }
    moved = {o: _moved(before, after, f'{ENTRIES}{{outcome="{o}"}}') for o in expected}
    assert moved == expected
    assert _moved(before, after, "azora_journal_seq") == expected["committed"]
    # One write transaction per request (each waited for the head lock once); one batch
    # size per transaction that committed something: each single entry alone, the batch's.
    transactions = len(singles) + 1
    assert _moved(before, after, f"{LOCK}_count") == transactions
    assert _moved(before, after, f"{LOCK}_sum") > 0
    assert _moved(before, after, f'{LOCK}_bucket{{le="+Inf"}}') == transactions
    assert _moved(before, after, f"{BATCH}_count") == single_committed + 1
    assert _moved(before, after, f"{BATCH}_sum") == single_committed + batch_committed
    assert _moved(before, after, f'{BATCH}_bucket{{le="1"}}') == single_committed
    assert _moved(before, after, f'{BATCH}_bucket{{le="2"}}') == single_committed + 1


def test_charges_are_counted_by_purpose_and_outcome(api: Api) -> None:
    before = _scrape(api.client)
    tried = {
        "alice": "pm_card_visa",
        "bob": "pm_card_chargeDeclined",
        "carol": "pm_card_unavailable",
    }
    codes = {}
    for user, method in tried.items():
        made = api.client.post(
            f"/v1/users/{user}/subscription",
            json={"plan": "pro", "payment_method": method},
            headers={**ADMIN, "Idempotency-Key": f"sub-{user}"},
        )
        codes[user] = made.status_code
    assert codes == {"alice": 200, "bob": 402, "carol": 503}
    after = _scrape(api.client)
    charges = 'azora_billing_charges_total{purpose="subscription",outcome="%s"}'
    moved = {
        o: _moved(before, after, charges % o) for o in ("succeeded", "declined", "unavailable")
    }
    assert moved == {"succeeded": 1, "declined": 1, "unavailable": 1}
    # The captured one is an entry the journal writer committed.
    assert _moved(before, after, f'{ENTRIES}{{outcome="committed"}}') == 1


def test_the_webhook_backlog_counts_the_deliveries_waiting(api: Api) -> None:
    receiver = Receiver()
    receiver.answer = lambda _path, _n: 503  # never acknowledged: everything stays pending
    try:
        webhooks = api.client.app.state.api.webhooks  # type: ignore[attr-defined]
        endpoint, _ = webhooks.endpoints.create("key:metrics", receiver.url())
        assert samples(api.client.get("/metrics").text)["azora_webhook_deliveries_pending"] == 0
        posted = 3
        for n in range(posted):
            api.move("world:card", "user:bob:usd", "1", f"w-{n}")
        webhooks.deliver()  # fans the events out, then fails the first delivery
        pending, _ = webhooks.log.list(endpoint.id, status=DeliveryStatus.PENDING)
        assert len(pending) == posted
        assert (
            samples(api.client.get("/metrics").text)["azora_webhook_deliveries_pending"] == posted
        )
        webhooks.endpoints.delete(endpoint.id)
        assert samples(api.client.get("/metrics").text)["azora_webhook_deliveries_pending"] == 0
    finally:
        receiver.close()


def test_readyz_is_503_with_the_chain_down_and_counts_the_failed_rpc_calls(pg_url: str) -> None:
    with chain_down_app(pg_url) as (client, context):
        answer = client.get("/readyz")
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert (body["status"], body["database"], body["chain"]) == (
            "unavailable",
            "ok",
            "unreachable",
        )
        assert body["checks"]["database"] == {"status": "ok", "error": None}
        assert body["checks"]["chain"] == {"status": "down", "chain_id": None}
        assert body["checks"]["anchor_lag"]["status"] == body["anchoring"]["status"]
        assert body["checks"]["anchor_lag"]["leaves"] == body["anchoring"]["lag_leaves"]

        key = 'azora_chain_rpc_errors_total{method="eth_blockNumber",kind="connection"}'
        before = _scrape(client)
        tries = 2
        assert context.chain is not None
        for _ in range(tries):
            with pytest.raises(Exception, match=r"(?i)connect"):
                context.chain.w3.eth.block_number  # noqa: B018 - the call is the point
        assert _moved(before, _scrape(client), key) == tries


def test_a_node_answering_with_a_json_rpc_error_counts_as_an_rpc_error(pg_url: str) -> None:
    node = start_anvil()
    try:
        with unstarted_app(pg_url, anchoring=True, chain_rpc_url=node.rpc_url) as made:
            client, context = made
            ready = client.get("/readyz").json()
            assert ready["checks"]["chain"] == {"status": "ok", "chain_id": 31337}
            key = 'azora_chain_rpc_errors_total{method="eth_noSuchMethod",kind="rpc"}'
            before = _scrape(client)
            assert context.chain is not None
            provider = context.chain.w3.provider
            answer = provider.make_request(RPCEndpoint("eth_noSuchMethod"), [])
            assert "error" in answer
            assert _moved(before, _scrape(client), key) == 1
    finally:
        node.stop()


def test_readyz_is_503_when_the_database_does_not_answer() -> None:
    with closed_port() as port:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/azora"
        with unstarted_app(url, check_database=False, anchoring=False) as (client, _context):
            answer = client.get("/readyz")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "unavailable" and body["database"] == "OperationalError"
    assert body["checks"]["database"] == {"status": "down", "error": "OperationalError"}
    assert body["checks"]["anchor_lag"]["status"] == "unknown"
    assert "Traceback" not in answer.text and "psycopg" not in answer.text
