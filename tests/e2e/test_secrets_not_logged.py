"""No secret reaches the served process's log, in either log format: not the admin key, an
API key, a user token, a wrong key, the JWT secret, the signing key, the database password,
nor the credentials and path of the chain's RPC URL, on good requests, refusals (401) and
faults (the chain unreachable: readiness 503, the anchoring job's retries)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from sqlalchemy.engine import make_url

from api.security import split_api_key
from tests.conftest import PgDatabases
from tests.e2e.conftest import LiveServer, free_port, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_KEY = "admin-secret-Q7w9e2r4t6y8u0i1o3p5"
JWT_SECRET = "jwt-secret-Z1x3c5v7b9n2m4a6s8d0f1g3h5j7k9"
PRIVATE_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
DB_PASSWORD = "db-password-K8j6h4g2"
RPC_USER, RPC_PASSWORD, RPC_PATH = "rpcuser-M3n5", "rpc-password-P9o7", "secret-path-abc"
WRONG_KEY = "wrong-key-L2k4j6h8g0f1d3s5"
WAIT_FOR_CHAIN_FAULT_S = 30.0


@pytest.fixture(params=["text", "json"])
def served(
    request: pytest.FixtureRequest,
    pg_databases: PgDatabases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    plain = pg_databases.fresh()
    # Trust authentication: the password is sent and ignored, but it is in the settings.
    url = make_url(plain).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    rpc_port = free_port()  # nothing listens there: the chain is unreachable
    live = start_server(
        url,
        tmp_path_factory.mktemp(f"secrets-{request.param}") / "server.log",
        ready_path="/healthz",
        AZORA_LOG_FORMAT=request.param,
        AZORA_ACCESS_LOG="true",
        AZORA_ADMIN_API_KEY=ADMIN_KEY,
        AZORA_JWT_SECRET=JWT_SECRET,
        AZORA_ANCHORING="on",
        AZORA_ANCHOR_INTERVAL_S="1",
        AZORA_ANCHOR_PRIVATE_KEY=f"0x{PRIVATE_KEY}",
        AZORA_TOKEN_ADDRESS="0x5FbDB2315678afecb367f0512d6e5d43e0e3b7a3",
        AZORA_CHAIN_RPC_URL=f"http://{RPC_USER}:{RPC_PASSWORD}@127.0.0.1:{rpc_port}/{RPC_PATH}",
        AZORA_PUBLIC_RPC_URL="http://127.0.0.1:8545",
    )
    yield live
    live.stop()
    pg_databases.drop(plain)


def _exercise(base: str) -> list[str]:
    """Good requests, refusals and faults; the secrets handed out on the way."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post("/v1/admin/api-keys", json={"scopes": ["ledger:read"]}, headers=admin)
        assert made.status_code == 201, made.text
        api_key: str = made.json()["key"]
        token = client.post("/v1/admin/tokens", json={"user_id": "alice"}, headers=admin)
        assert token.status_code == 201, token.text
        user_token: str = token.json()["token"]
        forged = jwt.encode({"sub": "alice", "exp": int(time.time()) + 600}, "not-the-secret-" * 3)
        tampered = api_key[:-4] + ("aaaa" if not api_key.endswith("aaaa") else "bbbb")

        assert client.get("/v1/accounts", headers=admin).status_code == 200
        assert client.get("/v1/anchors", headers={"Authorization": f"Bearer {api_key}"}).is_success
        bearer = {"Authorization": f"Bearer {user_token}"}
        assert client.get("/v1/users/alice/rewards", headers=bearer).status_code < 500
        assert client.get("/v1/admin/api-keys", headers=bearer).status_code in (403, 404)
        for wrong in (WRONG_KEY, tampered, forged, f"{ADMIN_KEY}x"):
            got = client.get("/v1/accounts", headers={"Authorization": f"Bearer {wrong}"})
            assert got.status_code == 401, got.text
        assert client.get("/v1/accounts", headers={"X-Api-Key": WRONG_KEY}).status_code == 401
        assert client.get("/readyz").status_code == 503  # the chain is unreachable
        revoke = client.post(f"/v1/admin/api-keys/{made.json()['id']}/revoke", headers=admin)
        assert revoke.status_code == 200, revoke.text
        revoked = client.get("/v1/accounts", headers={"Authorization": f"Bearer {api_key}"})
        assert revoked.status_code == 401
    return [api_key, user_token, forged, tampered]


def test_no_secret_in_the_log(served: LiveServer) -> None:
    handed_out = _exercise(served.url)
    deadline = time.monotonic() + WAIT_FOR_CHAIN_FAULT_S
    while "anchoring waits for the chain" not in served.log():
        assert time.monotonic() < deadline, served.log()[-3000:]
        time.sleep(0.5)
    log = served.log()
    assert "/readyz 503" in log  # the access lines were written
    secrets = [
        ADMIN_KEY,
        JWT_SECRET,
        PRIVATE_KEY,
        DB_PASSWORD,
        RPC_USER,
        RPC_PASSWORD,
        RPC_PATH,
        WRONG_KEY,
        *handed_out,
        *(parts[1] for parts in map(split_api_key, handed_out[::3]) if parts is not None),
        *(value.rsplit(".", 1)[1] for value in handed_out[1:3]),  # the tokens' signatures
    ]
    leaked = [secret for secret in secrets if secret in log]
    assert not leaked, f"secrets in the log: {leaked}\n{log[-3000:]}"
