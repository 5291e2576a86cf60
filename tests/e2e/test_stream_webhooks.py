"""The change stream and webhooks against a real server: the delivery worker running beside
the API, a real receiver that fails and recovers, SSE resumed across the server's stream ends,
all through the Python client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from azora_client import AzoraClient, Event, Events, Forbidden, Posting, Webhooks, verify_signature

from tests.conftest import PgDatabases
from tests.e2e.conftest import LiveServer, start_server
from tests.integration.webhooks.receiver import Receiver

pytestmark = pytest.mark.integration
WAIT_S = 60.0


@pytest.fixture(scope="module")
def stream_server(
    pg_databases: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url = pg_databases.fresh()
    live = start_server(
        url,
        tmp_path_factory.mktemp("stream") / "server.log",
        AZORA_WEBHOOK_INTERVAL_S="0.1",
        AZORA_WEBHOOK_RETRY_BASE_S="0.3",
        AZORA_WEBHOOK_RETRY_MAX_S="1",
        AZORA_EVENTS_STREAM_MAX_S="2",  # streams end often: the client must resume
        AZORA_EVENTS_POLL_INTERVAL_S="0.05",
        AZORA_WORKERS="1",
    )
    yield live
    live.stop()
    pg_databases.drop(url)


@pytest.fixture(scope="module")
def admin(stream_server: LiveServer) -> Iterator[AzoraClient]:
    [key] = stream_server.bootstrap_keys()
    with AzoraClient(stream_server.url, key) as client:
        client.create_account("world:card", "USD", allow_negative=True)
        client.create_account("user:erin:usd", "USD")
        yield client


def events_client(server: LiveServer, admin: AzoraClient) -> AzoraClient:
    made = admin._call("POST", "/v1/admin/api-keys", json={"scopes": ["events:read"]}).json()
    return AzoraClient(server.url, made["key"])


def pay(admin: AzoraClient, n: int, kind: str = "purchase.completed") -> list[int]:
    posting = Posting("world:card", "user:erin:usd", "USD", "1.25")
    return [admin.post_entry(kind, [posting]).seq for _ in range(n)]


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_signed_deliveries_arrive_in_order_through_a_failure(
    stream_server: LiveServer, admin: AzoraClient
) -> None:
    receiver = Receiver()
    receiver.answer = lambda _path, n: 500 if n in (2, 3) else 200  # down for a moment
    try:
        with events_client(stream_server, admin) as client:
            hook = Webhooks(client).create(receiver.url(), kinds=["purchase.*"])
            assert hook.secret is not None
            seqs = pay(admin, 6)
            pay(admin, 2, kind="refund.issued")  # filtered out
            wait_for(lambda: len(receiver.at("/hook")) >= 8, "6 deliveries and 2 retries")
            time.sleep(0.5)  # nothing more comes
            got = receiver.at("/hook")
            assert len(got) == 8
            for request in got:
                verify_signature(request.body, request.headers["Azora-Signature"], hook.secret)
            received = [json.loads(r.body)["seq"] for r in got]
            assert received == sorted(received) and list(dict.fromkeys(received)) == seqs
            log = Webhooks(client).deliveries(hook.id)
            assert {d.status for d in log.data} == {"delivered"}
            second = next(d for d in log.data if d.seq == seqs[1])
            detail = Webhooks(client).delivery(hook.id, second.id)
            assert [a.status_code for a in detail.log] == [500, 500, 200]
            with pytest.raises(Forbidden):
                Webhooks(client).replay(hook.id, second.id)
            Webhooks(admin).replay(hook.id, second.id)
            wait_for(lambda: len(receiver.at("/hook")) == 9, "the replay")
            assert json.loads(receiver.at("/hook")[-1].body)["seq"] == seqs[1]
            Webhooks(client).delete(hook.id)
    finally:
        receiver.close()


def test_the_sse_stream_resumes_across_server_ends_without_gaps_or_repeats(
    stream_server: LiveServer, admin: AzoraClient
) -> None:
    with events_client(stream_server, admin) as client:
        start = Events(client).page(after_seq=0, limit=1).data[0].seq - 1
        seen: list[Event] = []
        wanted = len(list(Events(client).iter(after_seq=start))) + 12
        done = threading.Event()

        def follow() -> None:
            for event in Events(client).stream(after_seq=start, max_reconnects=50):
                seen.append(event)
                if len(seen) >= wanted:
                    done.set()
                    return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        for _ in range(4):  # spread over several of the server's 2 s streams
            pay(admin, 3, kind="stream.test")
            time.sleep(1.2)
        assert done.wait(WAIT_S), f"saw {len(seen)} of {wanted}"
        seqs = [e.seq for e in seen]
        assert seqs == list(range(start + 1, start + 1 + wanted))
        assert seen == list(Events(client).iter(after_seq=start))[:wanted]
