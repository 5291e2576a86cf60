"""A served process refuses a body over AZORA_MAX_BODY_BYTES with 413 before it has all of
it: the client sends the headers and a first piece, then waits for the answer, on the
direct write path (POST /v1/entries) and on the full application (POST /v1/accounts)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.conftest import PgDatabases
from tests.e2e.conftest import LiveServer, fresh_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_KEY = "body-limit-admin-key-0123456789abcdef"
MAX_BODY_BYTES = 4096
ANSWER_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def server(
    pg_databases: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with fresh_servers(
        pg_databases,
        tmp_path_factory,
        "body-limit",
        AZORA_ADMIN_API_KEY=ADMIN_KEY,
        AZORA_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
    ) as live:
        yield live[0]


def _partial_send(server: LiveServer, path: str, chunked: bool) -> tuple[int, dict[str, object]]:
    """Send a too-large body's headers and part of it, never the rest; the answer."""
    parts = urlsplit(server.url)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Authorization: Bearer {ADMIN_KEY}",
        "Content-Type: application/json",
        "Idempotency-Key: body-limit-1",
    ]
    piece = b'{"kind": "transfer", "metadata": {"pad": "' + b"x" * (MAX_BODY_BYTES + 100)
    if chunked:  # the limit is only known once that many bytes came
        head.append("Transfer-Encoding: chunked")
        body = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"  # no final 0-chunk
    else:  # declared: refused on the headers
        head.append(f"Content-Length: {10 * MAX_BODY_BYTES}")
        body = piece[:100]
    with socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_TIMEOUT_S) as s:
        s.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = s.recv(65536)  # a timeout here: the server waited for the rest
            if not chunk:
                break
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    start = payload.find(b"{")
    return int(status_line.split()[1]), json.loads(payload[start : payload.rfind(b"}") + 1])


@pytest.mark.parametrize("path", ["/v1/entries", "/v1/accounts"])
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_too_large_is_413_before_the_whole_body(
    server: LiveServer, path: str, chunked: bool
) -> None:
    status, problem = _partial_send(server, path, chunked)
    assert status == 413, problem
    assert str(problem["type"]).endswith("/payload-too-large")
    assert str(MAX_BODY_BYTES) in str(problem["detail"])
