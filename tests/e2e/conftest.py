"""A real server: ``azora serve`` in a subprocess over a fresh PostgreSQL database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PgDatabases

ROOT = Path(__file__).resolve().parents[2]
JWT_SECRET = "e2e-jwt-secret-" * 4
START_TIMEOUT_S = 120.0  # a busy machine starts two workers slowly
_KEY_LINE = re.compile(r"export AZORA_KEY=(\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    database_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def bootstrap_keys(self) -> list[str]:
        """Admin keys the server printed at startup."""
        return _KEY_LINE.findall(self.log())

    def azora(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``azora`` CLI with the server's configuration."""
        return subprocess.run(
            [sys.executable, "-m", "azora.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    database_url: str, log_path: Path, ready_path: str = "/readyz", **env_extra: str
) -> LiveServer:
    """``azora serve`` on a free port, once ``ready_path`` answers 200 (``/healthz``: the
    process serves, whatever its chain and database say)."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "AZORA_ADMIN_API_KEY"}
    env = {
        **inherited,
        "AZORA_DATABASE_URL": database_url,
        "AZORA_JWT_SECRET": JWT_SECRET,
        "AZORA_KEY_CACHE_TTL_S": "0",
        "AZORA_ANCHORING": "off",  # these tests are about the ledger API, not the chain
        "PYTHONUNBUFFERED": "1",
        **env_extra,
    }
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "azora.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, env, log_path, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}{ready_path}", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.log()}")


@contextmanager
def fresh_servers(
    pg_databases: PgDatabases,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    processes: int = 1,
    **env_extra: str,
) -> Iterator[list[LiveServer]]:
    """``processes`` servers on one fresh database, stopped (and it dropped) at the end."""
    url = pg_databases.fresh()
    logs = tmp_path_factory.mktemp(name)
    live: list[LiveServer] = []
    try:
        for i in range(processes):
            live.append(start_server(url, logs / f"server{i}.log", **env_extra))
        yield live
    finally:
        for server in live:
            server.stop()
        pg_databases.drop(url)


@pytest.fixture(scope="module")
def e2e_db(pg_databases: PgDatabases) -> Iterator[str]:
    """One fresh migrated database for a module's server (the ``pg_url`` recipe, module-wide)."""
    url = pg_databases.fresh()
    yield url
    pg_databases.drop(url)


@pytest.fixture(scope="module")
def server(e2e_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(e2e_db, tmp_path_factory.mktemp("server") / "server.log")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def admin_key(server: LiveServer) -> str:
    """The admin key the server printed on its first start (what a newcomer copies)."""
    keys = server.bootstrap_keys()
    assert len(keys) == 1, server.log()
    return keys[0]
