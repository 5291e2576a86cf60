"""A live server for the client's tests, reached only over HTTP.

With ``AZORA_CLIENT_TEST_URL`` and ``AZORA_CLIENT_TEST_KEY`` (an admin key) the tests use
that server. Otherwise they start one: the ``azora`` command next to this Python (or
``$AZORA_COMMAND``) over a fresh SQLite file in a temporary directory, anchoring off, on a
free port; the tests import nothing of it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ADMIN_KEY = "client-tests-admin-key-0123456789abcdef"
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Live:
    url: str
    admin_key: str
    log: Path | None = None


def _azora_command() -> list[str]:
    configured = os.environ.get("AZORA_COMMAND")
    if configured:
        return configured.split()
    beside = Path(sys.executable).with_name("azora")
    found = str(beside) if beside.exists() else shutil.which("azora")
    if found is None:
        pytest.skip("no `azora` command to start a server (set AZORA_CLIENT_TEST_URL)")
    return [found]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    url, key = os.environ.get("AZORA_CLIENT_TEST_URL"), os.environ.get("AZORA_CLIENT_TEST_KEY")
    if url and key:
        yield Live(url.rstrip("/"), key)
        return
    home = tmp_path_factory.mktemp("azora-server")
    env = {
        **os.environ,
        "AZORA_DATABASE_URL": f"sqlite:///{home / 'ledger.db'}",
        "AZORA_DATA_DIR": str(home),
        "AZORA_ANCHORING": "off",
        "AZORA_ADMIN_API_KEY": ADMIN_KEY,
        "AZORA_KEY_CACHE_TTL_S": "0",
        "PYTHONUNBUFFERED": "1",
    }
    command = _azora_command()
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = home / "server.log"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", server, log)
        yield Live(f"http://127.0.0.1:{port}", ADMIN_KEY, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not become ready:\n{log.read_text(errors='replace')}")
