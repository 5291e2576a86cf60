"""Two organizations served in-process over PostgreSQL, with their people's tokens.

``acme``: owner olga, admin ada, member mia; ``globex``: owner gus, admin gia, member gil;
``stan`` belongs to neither. Both hold an enterprise license of 20 seats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azora.asgi import app_for
from azora.bootstrap import Container, build
from azora.settings import Settings
from monetization.licensing import StaticTxtResolver
from tests.integration.api.conftest import ADMIN, ADMIN_KEY, JWT_SECRET, bearer

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PROBLEM = "https://azora.dev/problems/"
PEOPLE = {"acme": ("olga", "ada", "mia"), "globex": ("gus", "gia", "gil")}
LICENSE = {
    "tier": "enterprise",
    "seats": 20,
    "limits": {"api_calls_per_month": 1_000_000, "storage_bytes": None, "active_users": 100},
    "expires_at": "2099-01-01T00:00:00Z",
    "payment_method": "pm_card_visa",
}


@dataclass
class World:
    client: TestClient
    container: Container
    resolver: StaticTxtResolver
    tokens: dict[str, dict[str, str]]

    def call(
        self, method: str, path: str, who: dict[str, str], body: Any = None, raw: str | None = None
    ) -> Any:
        headers = dict(who)
        if raw is not None:
            headers["Content-Type"] = "application/json"
            return self.client.request(method, path, content=raw.encode("utf-8", "surrogatepass"),
                                       headers=headers)  # fmt: skip
        return self.client.request(method, path, json=body, headers=headers)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.call(method, path, ADMIN, body)
        assert answer.status_code < 300, (method, path, answer.text)
        return answer.json() if answer.content else None


def problem(answer: Any, status: int, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    if code is not None:
        assert answer.json()["type"] == PROBLEM + code, answer.text
    for leak in ("Traceback", "psycopg", "sqlalchemy", "\\ud800"):
        assert leak not in answer.text, answer.text


def _token(client: TestClient, user: str) -> dict[str, str]:
    made = client.post("/v1/admin/tokens", json={"user_id": user}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return bearer(made.json()["token"])


def world(database_url: str, data_dir: Path) -> Iterator[World]:
    from fastapi.testclient import TestClient

    settings = Settings(
        database_url=database_url, admin_api_key=ADMIN_KEY, jwt_secret=JWT_SECRET,
        anchoring=False, key_cache_ttl_s=0, data_dir=data_dir, maintenance_interval_s=3600,
    )  # fmt: skip
    container = build(settings)
    resolver = StaticTxtResolver()
    container.txt_resolver = resolver
    with TestClient(app_for(container)) as client:
        tokens = {u: _token(client, u) for u in ("olga", "ada", "mia", "gus", "gia", "gil", "stan")}
        made = World(client, container, resolver, tokens)
        for org, (owner, admin, member) in PEOPLE.items():
            made.admin("POST", "/v1/orgs", {"id": org, "name": org.title(), "owner_user_id": owner})
            made.admin("POST", f"/v1/orgs/{org}/licenses", LICENSE)
            made.admin("POST", f"/v1/orgs/{org}/members", {"user_id": admin, "role": "admin"})
            made.admin("POST", f"/v1/orgs/{org}/members", {"user_id": member, "role": "member"})
        yield made


def dump(answer: Any) -> str:
    return json.dumps(answer.json(), sort_keys=True) if answer.content else ""
