"""One principal hammering two ``azora serve`` processes on one PostgreSQL database: the
requests they accept together stay within the one configured limit (api/ratestore.py).

An in-process limiter would let each process accept a whole burst: twice the bound here.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from api.ratestore import accepted_bound
from tests.conftest import PgDatabases
from tests.e2e.conftest import LiveServer, fresh_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_KEY = "shared-limit-admin-key-0123456789abcdef"
RATE_PER_S = 2.0
BURST = 20
PROCESSES = 2
HAMMER_S = 3.0
THREADS_PER_SERVER = 3
POSTING = {"source": "world:card", "destination": "user:1:usd", "asset": "USD", "amount": "0.01"}


@pytest.fixture(scope="module")
def servers(
    pg_databases: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    with fresh_servers(
        pg_databases,
        tmp_path_factory,
        "shared-limit",
        PROCESSES,
        AZORA_ADMIN_API_KEY=ADMIN_KEY,
        AZORA_RATE_LIMIT_PER_S=str(RATE_PER_S),
        AZORA_RATE_LIMIT_BURST=str(BURST),
        AZORA_WORKERS="1",
    ) as live:
        yield live


def _hammer_key(server: LiveServer) -> str:
    """A fresh key (its own bucket, full), and the accounts its entries move between."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for body in (
        {"id": "world:card", "asset": "USD", "allow_negative": True},
        {"id": "user:1:usd", "asset": "USD"},
    ):
        httpx.post(f"{server.url}/v1/accounts", json=body, headers=admin).raise_for_status()
    made = httpx.post(
        f"{server.url}/v1/admin/api-keys",
        json={"scopes": ["ledger:read", "entries:write"]},
        headers=admin,
    )
    made.raise_for_status()
    key: str = made.json()["key"]
    return key


def test_two_processes_share_one_limit(servers: list[LiveServer]) -> None:
    key = _hammer_key(servers[0])
    auth = {"Authorization": f"Bearer {key}"}
    statuses: Counter[tuple[int, int]] = Counter()  # (server, status)
    refusals: list[httpx.Response] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + HAMMER_S

    def hammer(index: int, writes: bool) -> None:
        with httpx.Client(base_url=servers[index].url, headers=auth, timeout=10) as client:
            while time.monotonic() < stop_at:
                if writes:  # the direct write path
                    response = client.post(
                        "/v1/entries",
                        json={"kind": "transfer", "postings": [POSTING]},
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                    )
                else:
                    response = client.get("/v1/accounts/user:1:usd")
                with lock:
                    statuses[index, response.status_code] += 1
                    if response.status_code == 429 and len(refusals) < 5:
                        refusals.append(response)

    threads = [
        threading.Thread(target=hammer, args=(index, n % 2 == 0))
        for index in range(PROCESSES)
        for n in range(THREADS_PER_SERVER)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed_s = time.monotonic() - started

    accepted = sum(n for (_server, status), n in statuses.items() if status < 300)
    per_server = [sum(statuses[i, s] for s in (200, 201)) for i in range(PROCESSES)]
    others = {k: n for k, n in statuses.items() if k[1] not in (200, 201, 429)}
    bound = accepted_bound(RATE_PER_S, BURST, elapsed_s, PROCESSES)
    print(f"accepted {accepted} (per server {per_server}) in {elapsed_s:.2f} s, bound {bound}")
    assert not others, others
    assert accepted <= bound, (accepted, bound, statuses)
    assert accepted >= BURST // 2, statuses  # the limit is not a refusal of everything
    assert all(n > 0 for n in per_server), per_server
    assert sum(statuses[i, 429] for i in range(PROCESSES)) > 0
    for refusal in refusals:
        assert int(refusal.headers["Retry-After"]) >= 1
        assert refusal.headers["content-type"].startswith("application/problem+json")
        assert refusal.json()["type"].endswith("/rate-limited")
