"""``/v1/events`` and ``/v1/webhooks`` over HTTP: scopes, pages, SSE, hostile input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api.conftest import ADMIN, Api, bearer, make_client
from tests.integration.webhooks.receiver import Receiver


@pytest.fixture
def events_key(api: Api) -> str:
    return api.key("events:read")[1]


def sse_messages(text: str) -> list[dict[str, str]]:
    messages = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            messages.append(fields)
    return messages


def page(api: Api, key: str, **params: Any) -> dict[str, Any]:
    got = api.client.get("/v1/events", params=params, headers=bearer(key))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_events_need_the_events_read_scope(api: Api, events_key: str) -> None:
    assert api.client.get("/v1/events").status_code == 401
    assert api.client.get("/v1/events", headers=bearer(api.reader)).status_code == 403
    assert api.client.get("/v1/events", headers=bearer(api.writer)).status_code == 403
    assert api.client.get("/v1/events", headers=bearer(api.alice)).status_code == 404
    assert api.client.get("/v1/events", headers=bearer(events_key)).status_code == 200
    assert api.client.get("/v1/events", headers=ADMIN).status_code == 200


def test_events_are_paged_by_seq(api: Api, events_key: str) -> None:
    for n in range(5):
        api.move("user:alice:usd", "user:bob:usd", "1.50", f"m{n}")
    everything = page(api, events_key, limit=500)["data"]
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    last = everything[-1]
    assert last["type"] == "entry.posted" and last["kind"] == "transfer"
    assert last["postings"][0]["amount"] == "1.50" and last["hash"].startswith("0x")
    first = page(api, events_key, limit=2)
    assert [e["seq"] for e in first["data"]] == [1, 2]
    assert first["next_cursor"] == "2" and first["last_seq"] == 2
    second = page(api, events_key, limit=2, cursor=first["next_cursor"])
    assert [e["seq"] for e in second["data"]] == [3, 4]
    rest = page(api, events_key, limit=500, after_seq=4)
    assert rest["next_cursor"] is None and rest["last_seq"] == everything[-1]["seq"]


def test_kind_and_type_filters(api: Api, events_key: str) -> None:
    api.move("user:alice:usd", "user:bob:usd", "1", "h1", pending=True)
    got = page(api, events_key, type="hold.created")["data"]
    assert [e["type"] for e in got] == ["hold.created"]
    assert page(api, events_key, kind="nothing.*")["data"] == []
    filtered = page(api, events_key, kind="nothing.*")
    assert filtered["last_seq"] == page(api, events_key)["data"][-1]["seq"]  # scanned to head
    assert len(page(api, events_key, kind=["transfer", "other"])["data"]) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"after_seq": "-1"},
        {"after_seq": "9" * 30},
        {"after_seq": "1e3"},
        {"limit": "0"},
        {"limit": "501"},
        {"cursor": "abc"},
        {"cursor": "1", "after_seq": "2"},
        {"kind": "Bad Kind"},
        {"kind": "a\x00b"},
        {"kind": "a.**"},
        {"type": "entry.deleted"},
        {"kind": ["a"] * 65},
    ],
)
def test_hostile_event_queries_are_clear_4xx(
    api: Api, events_key: str, params: dict[str, Any]
) -> None:
    got = api.client.get("/v1/events", params=params, headers=bearer(events_key))
    assert got.status_code == 422, got.text
    assert got.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("query", ["kind=%ED%A0%80", "kind=%FF", "kind=%00", "after_seq=%00"])
def test_undecodable_queries_are_4xx(api: Api, events_key: str, query: str) -> None:
    got = api.client.get(f"/v1/events?{query}", headers=bearer(events_key))
    assert 400 <= got.status_code < 500, got.text


@pytest.mark.parametrize("value", ["abc", "-1", "1" * 25, "\uff11\uff12".encode(), b"\xff"])
def test_a_bad_last_event_id_is_400(api: Api, events_key: str, value: str | bytes) -> None:
    headers = {**bearer(events_key), "Last-Event-ID": value}
    got = api.client.get("/v1/events", headers=headers)
    assert got.status_code in (400, 422), got.text
    assert got.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def short_streams(pg_url: str) -> Iterator[Api]:
    """An app whose SSE streams end after a second (the test client reads to the end)."""
    with make_client(pg_url, events_stream_max_s=1, events_poll_interval_s=0.05) as client:
        made = Api(client, "", "", "", "")
        made.open("world:card", allow_negative=True)
        made.open("user:alice:usd")
        for n in range(3):
            made.move("world:card", "user:alice:usd", "1", f"s{n}")
        yield made


def test_sse_streams_the_same_events_and_resumes_after_last_event_id(short_streams: Api) -> None:
    api = short_streams
    sse = {**ADMIN, "Accept": "text/event-stream"}
    got = api.client.get("/v1/events", headers=sse)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/event-stream")
    assert got.text.startswith("retry: ")
    messages = sse_messages(got.text)
    assert [int(m["id"]) for m in messages] == [1, 2, 3]
    assert [m["event"] for m in messages] == ["entry.posted"] * 3
    admin_key = ADMIN["Authorization"].removeprefix("Bearer ")
    assert [json.loads(m["data"]) for m in messages] == page(api, admin_key)["data"]
    resumed = api.client.get("/v1/events", headers={**sse, "Last-Event-ID": "2"})
    assert [int(m["id"]) for m in sse_messages(resumed.text)] == [3]
    filtered = api.client.get("/v1/events", params={"kind": "none"}, headers=sse)
    assert sse_messages(filtered.text) == []


def test_sse_with_bad_filters_is_refused_before_streaming(short_streams: Api) -> None:
    got = short_streams.client.get(
        "/v1/events", params={"kind": "BAD"}, headers={**ADMIN, "Accept": "text/event-stream"}
    )
    assert got.status_code == 422


def test_too_many_open_streams_are_429(pg_url: str) -> None:
    with make_client(pg_url, events_streams_max=1, events_stream_max_s=1) as client:
        context = client.app.state.api  # type: ignore[attr-defined]
        held = context.event_streams.take()
        got = client.get("/v1/events", headers={**ADMIN, "Accept": "text/event-stream"})
        assert got.status_code == 429 and got.headers["Retry-After"] == "5"
        held.release()
        got = client.get("/v1/events", headers={**ADMIN, "Accept": "text/event-stream"})
        assert got.status_code == 200
        assert context.event_streams.open == 0


# --- webhooks ---------------------------------------------------------------------------


def create(api: Api, key: str, **body: Any) -> Any:
    # json.dumps escapes lone surrogates (\ud800), as a hostile client would send them
    headers = {**bearer(key), "Content-Type": "application/json"}
    return api.client.post("/v1/webhooks", content=json.dumps(body), headers=headers)


def test_webhooks_are_created_listed_read_and_deleted_by_their_owner(
    api: Api, events_key: str
) -> None:
    made = create(api, events_key, url="http://localhost:28100/a", kinds=["reward.*"])
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["secret"].startswith("whsec_") and hook["kinds"] == ["reward.*"]
    other_key = api.key("events:read")[1]
    assert create(api, other_key, url="http://localhost:28100/b").status_code == 201
    mine = api.client.get("/v1/webhooks", headers=bearer(events_key)).json()["data"]
    assert [h["id"] for h in mine] == [hook["id"]] and "secret" not in mine[0]
    everyone = api.client.get("/v1/webhooks", headers=ADMIN).json()["data"]
    assert len(everyone) == 2
    path = f"/v1/webhooks/{hook['id']}"
    assert api.client.get(path, headers=bearer(other_key)).status_code == 404
    assert api.client.delete(path, headers=bearer(other_key)).status_code == 404
    assert api.client.get(path, headers=bearer(events_key)).json()["url"].endswith("/a")
    assert api.client.delete(path, headers=bearer(events_key)).status_code == 204
    assert api.client.get(path, headers=bearer(events_key)).status_code == 404
    assert api.client.delete(path, headers=bearer(events_key)).status_code == 404


def test_webhooks_need_the_scope(api: Api) -> None:
    body = {"url": "http://localhost:28100/a"}
    assert api.client.post("/v1/webhooks", json=body).status_code == 401
    assert create(api, api.reader, **body).status_code == 403
    assert create(api, api.alice, **body).status_code == 404


def test_webhook_lists_are_paged(api: Api, events_key: str) -> None:
    for n in range(5):
        assert create(api, events_key, url=f"http://localhost:28100/{n}").status_code == 201
    first = api.client.get("/v1/webhooks", params={"limit": 2}, headers=bearer(events_key)).json()
    second = api.client.get(
        "/v1/webhooks", params={"limit": 10, "cursor": first["next_cursor"]},
        headers=bearer(events_key),
    ).json()  # fmt: skip
    urls = [h["url"] for h in first["data"] + second["data"]]
    assert urls == [f"http://localhost:28100/{n}" for n in range(5)]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/"},
        {"url": "http://example.com/\x00"},
        {"url": "http://example.com/\ud800"},
        {"url": "http://u:p@example.com/"},
        {"url": "http://example.com/" + "a" * 3000},
        {"url": 42},
        {"url": None},
        {},
        {"url": "http://localhost/", "kinds": ["NOT A KIND"]},
        {"url": "http://localhost/", "kinds": "reward.*"},
        {"url": "http://localhost/", "kinds": ["a\x00"]},
        {"url": "http://localhost/", "kinds": ["a"] * 65},
        {"url": "http://localhost/", "description": "bad \x00 text"},
        {"url": "http://localhost/", "description": "\ud800"},
        {"url": "http://localhost/", "description": "x" * 201},
        {"url": "http://localhost/", "extra": 1},
    ],
)
def test_hostile_webhooks_are_422(api: Api, events_key: str, body: dict[str, Any]) -> None:
    got = create(api, events_key, **body)
    assert got.status_code == 422, got.text
    assert got.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhooks/not-a-uuid",
        "/v1/webhooks/00000000-0000-0000-0000-000000000000",
        "/v1/webhooks/00000000-0000-0000-0000-000000000000/deliveries",
        "/v1/webhooks/%00/deliveries",
        "/v1/webhooks/00000000-0000-0000-0000-000000000000/deliveries/x",
    ],
)
def test_unknown_and_malformed_webhook_paths_are_404(api: Api, path: str) -> None:
    got = api.client.get(path, headers=ADMIN)
    assert got.status_code == 404
    assert got.headers["content-type"].startswith("application/problem+json")


def test_production_refuses_plain_http_and_private_targets(pg_url: str) -> None:
    from fastapi.testclient import TestClient

    from azora.asgi import app_for
    from azora.bootstrap import build
    from azora.settings import Environment, Settings
    from monetization.webhooks import StaticResolver
    from tests.integration.api.conftest import ADMIN_KEY, JWT_SECRET

    settings = Settings(
        database_url=pg_url, admin_api_key=ADMIN_KEY, jwt_secret=JWT_SECRET,
        anchoring=False, env=Environment.PRODUCTION, log_signing_key="ab" * 32,
        license_signing_key="l" * 40, sso_encryption_key="s" * 44,
    )  # fmt: skip
    container = build(settings)
    container.webhook_resolver = StaticResolver(
        {"public.example": ["93.184.216.34"], "internal.example": ["10.0.0.5"]}
    )
    with TestClient(app_for(container)) as client:

        def made(url: str) -> Any:
            return client.post("/v1/webhooks", json={"url": url}, headers=ADMIN)

        for url in (
            "http://public.example/",
            "https://internal.example/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://nowhere.example/",
        ):
            got = made(url)
            assert got.status_code == 422, (url, got.text)
            assert got.json()["type"].endswith("/webhook-url-refused")
        assert made("https://public.example/hook").status_code == 201


def test_the_delivery_log_and_admin_replays_over_http(pg_url: str) -> None:
    receiver = Receiver()
    try:
        with make_client(pg_url) as client:
            api = Api(client, "", "", "", "")
            api.open("world:card", allow_negative=True)
            api.open("user:alice:usd")
            key = api.key("events:read")[1]
            hook = create(api, key, url=receiver.url()).json()
            api.move("world:card", "user:alice:usd", "2", "d1")
            container_deliver(client)
            log = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=bearer(key))
            [delivery] = log.json()["data"]
            assert delivery["status"] == "delivered" and delivery["last_status_code"] == 200
            one = client.get(
                f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}", headers=bearer(key)
            ).json()
            assert [a["status_code"] for a in one["log"]] == [200]
            replay = f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/replay"
            assert client.post(replay, headers=bearer(key)).status_code == 403  # admins only
            replayed = client.post(replay, headers=ADMIN)
            assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
            container_deliver(client)
            assert len(receiver.at("/hook")) == 2
            pending = client.get(
                f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "pending"},
                headers=bearer(key),
            ).json()  # fmt: skip
            assert pending["data"] == []
            bad = client.get(
                f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "lost"},
                headers=bearer(key),
            )  # fmt: skip
            assert bad.status_code == 422
    finally:
        receiver.close()


def container_deliver(client: Any) -> None:
    webhooks = client.app.state.api.webhooks
    for _ in range(5):
        if webhooks.deliver().endpoints == 0:
            return
