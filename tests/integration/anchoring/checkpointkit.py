"""A service over a real database and a real anvil, built by the composition root, with its
API in-process: what the checkpoint, receipt and monitor tests share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from azora.asgi import app_for
from azora.bootstrap import Container, build
from azora.settings import Settings
from chain.anchoring import AnchorSettings
from chain.localnode import LocalNode
from chain.token import AzoraToken
from ledger import Account, NewEntry, Posting

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ADMIN_KEY = "checkpoint-admin-key-0123456789abcdef-0123"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
POOL = "platform:azr:rewards"


@dataclass
class Service:
    container: Container
    client: TestClient
    token: AzoraToken
    entry_ids: list[str] = field(default_factory=list)

    def earn(self, n: int) -> list[str]:
        """``n`` more reward entries for user 1 (one token-log leaf each)."""
        book = self.container.ledger
        if not self.entry_ids:
            book.create_account(Account(POOL, "AZR", allow_negative=True))
            book.create_account(Account("user:1:azr", "AZR"))
        made = []
        for _ in range(n):
            i = len(self.entry_ids)
            posted = book.post_entry(
                NewEntry("reward.earned", (Posting(POOL, "user:1:azr", "AZR", (i + 1) * 10**18),)),
                idempotency_key=f"earn-{i}",
            )
            self.entry_ids.append(posted.entry.id)
            made.append(posted.entry.id)
        return made

    def anchor(self) -> None:
        worker = self.container.chain.anchor_worker(AnchorSettings(interval_s=3600))
        result = worker.run_once(now=True)
        assert result.action == "anchored", result

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)


def settings_for(db_url: str, node: LocalNode, data_dir: Path, **values: Any) -> Settings:
    return Settings(
        database_url=db_url,
        chain_rpc_url=node.rpc_url,
        data_dir=data_dir,
        admin_api_key=ADMIN_KEY,
        jwt_secret="checkpoint-jwt-secret-" * 3,
        anchoring=True,
        **values,
    )


def serve(settings: Settings) -> Iterator[Service]:
    """The service; its background jobs are not started (tests anchor by hand)."""
    from fastapi.testclient import TestClient

    container = build(settings, group_commit=False)
    token = container.chain.deploy()
    client = TestClient(app_for(container))  # no lifespan: no background jobs
    try:
        yield Service(container, client, token)
    finally:
        client.close()
        container.close()


@pytest.fixture
def service(db_url: str, node: LocalNode, tmp_path: Path) -> Iterator[Service]:
    yield from serve(settings_for(db_url, node, tmp_path / "data"))
