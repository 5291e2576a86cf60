"""The app in-process (Starlette's TestClient) over a fresh, migrated PostgreSQL database."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from api.context import ApiContext
from azora.asgi import app_for
from azora.bootstrap import build
from azora.settings import Settings

if TYPE_CHECKING:
    # Imported where used: its import-time deprecation warning is filtered by then.
    from fastapi.testclient import TestClient

ADMIN_KEY = "test-admin-key-0123456789abcdef-0123456789"
JWT_SECRET = "test-jwt-secret-" * 4


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_KEY)


@dataclass
class Api:
    """A client plus the credentials and accounts every test starts from."""

    client: TestClient
    reader: str  # ledger:read key
    writer: str  # entries:write key
    alice: str  # user token of user "alice"
    bob: str  # user token of user "bob"

    def key(self, *scopes: str) -> tuple[str, str]:
        made = self.client.post("/v1/admin/api-keys", json={"scopes": list(scopes)}, headers=ADMIN)
        assert made.status_code == 201, made.text
        return made.json()["id"], made.json()["key"]

    def token(self, user_id: str) -> str:
        made = self.client.post("/v1/admin/tokens", json={"user_id": user_id}, headers=ADMIN)
        assert made.status_code == 201, made.text
        token: str = made.json()["token"]
        return token

    def open(self, account_id: str, asset: str = "USD", allow_negative: bool = False) -> None:
        body = {"id": account_id, "asset": asset, "allow_negative": allow_negative}
        made = self.client.post("/v1/accounts", json=body, headers=ADMIN)
        assert made.status_code in (200, 201), made.text

    def move(
        self, source: str, destination: str, amount: str, key: str, *, pending: bool = False
    ) -> dict[str, object]:
        body = {
            "kind": "transfer",
            "postings": [
                {"source": source, "destination": destination, "asset": "USD", "amount": amount}
            ],
            "pending": pending,
        }
        made = self.client.post("/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": key})
        assert made.status_code == 201, made.text
        entry: dict[str, object] = made.json()
        return entry


def make_client(database_url: str, **api: object) -> TestClient:
    from fastapi.testclient import TestClient

    values: dict[str, object] = {"key_cache_ttl_s": 0, **api}
    settings = Settings(
        database_url=database_url,
        admin_api_key=ADMIN_KEY,
        jwt_secret=JWT_SECRET,
        anchoring=False,
        **values,  # type: ignore[arg-type]
    )
    return TestClient(app_for(build(settings)))


@pytest.fixture
def api(pg_url: str) -> Iterator[Api]:
    """Accounts world:card (may go negative), user:alice:usd (100.00), user:bob:usd."""
    with make_client(pg_url) as client:
        made = Api(client, "", "", "", "")
        made.reader = made.key("ledger:read")[1]
        made.writer = made.key("entries:write")[1]
        made.alice, made.bob = made.token("alice"), made.token("bob")
        made.open("world:card", allow_negative=True)
        made.open("user:alice:usd")
        made.open("user:bob:usd")
        made.move("world:card", "user:alice:usd", "100", "seed-alice")
        yield made


@contextmanager
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused, and no other
    test can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@contextmanager
def unstarted_app(
    database_url: str, *, check_database: bool = True, **values: object
) -> Iterator[tuple[TestClient, ApiContext]]:
    """The app over ``database_url`` and settings ``values``; not started (no background
    jobs), its container closed on exit."""
    from fastapi.testclient import TestClient

    settings = Settings(
        database_url=database_url,
        admin_api_key=ADMIN_KEY,
        jwt_secret=JWT_SECRET,
        **{"key_cache_ttl_s": 0, **values},  # type: ignore[arg-type]
    )
    container = build(settings, check_database=check_database)
    app = app_for(container)
    try:
        yield TestClient(app), app.state.api
    finally:
        container.close()


@contextmanager
def chain_down_app(database_url: str) -> Iterator[tuple[TestClient, ApiContext]]:
    """:func:`unstarted_app` with anchoring on and its chain RPC URL refusing connections."""
    with (
        closed_port() as port,
        unstarted_app(
            database_url, anchoring=True, chain_rpc_url=f"http://127.0.0.1:{port}"
        ) as made,
    ):
        yield made


_SAMPLE = re.compile(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$")


def samples(text: str) -> dict[str, float]:
    """A Prometheus scrape's samples by ``name{labels}``, the ``pid`` label left out (one
    process here) and the other labels in their order."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        matched = _SAMPLE.match(line)
        if matched is None:
            continue
        name, labels, value = matched.groups()
        kept = [p for p in re.findall(r'[a-z_]+="[^"]*"', labels or "") if not p.startswith("pid=")]
        found[f"{name}{{{','.join(kept)}}}" if kept else name] = float(value)
    return found
