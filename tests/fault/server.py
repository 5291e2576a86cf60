"""``azora serve`` in a subprocess for the fault tests, with its worker processes at hand
(to SIGKILL one), and the ``azora`` command with the same configuration."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "fault-admin-key-" + "k" * 32
JWT_SECRET = "fault-jwt-secret-" * 4
START_TIMEOUT_S = 120.0
CATCH_UP_TIMEOUT_S = 180.0
_TOKEN_LINE = re.compile(r"AzoraToken at (0x[0-9a-fA-F]{40})")
_UNANCHORED = re.compile(r"^azora_unanchored_leaves (\d+)$", re.MULTILINE)


def azora_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AZORA_")},
        "AZORA_DATABASE_URL": database_url,
        "AZORA_DATA_DIR": str(data_dir),
        "AZORA_ADMIN_API_KEY": ADMIN_KEY,
        "AZORA_JWT_SECRET": JWT_SECRET,
        "AZORA_ANCHORING": "off",
        "AZORA_RATE_LIMIT_PER_S": "100000",
        "AZORA_RATE_LIMIT_BURST": "100000",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def azora(
    env: dict[str, str], *args: str, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azora.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The worker processes (children of the server that serve HTTP)."""
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return sorted(int(pid) for pid in out)

    def kill_worker(self) -> int:
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def unanchored(self) -> int | None:
        """The ``azora_unanchored_leaves`` gauge (None while the server does not answer)."""
        try:
            found = _UNANCHORED.search(httpx.get(f"{self.url}/metrics", timeout=10).text)
        except httpx.TransportError:
            return None
        return None if found is None else int(found.group(1))

    def wait_caught_up(self, timeout_s: float = CATCH_UP_TIMEOUT_S) -> float | None:
        """Seconds until no leaf is left unanchored, None on timeout."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.unanchored() == 0:
                return round(time.monotonic() - started, 1)
            time.sleep(1.0)
        return None

    def token_address(self) -> str:
        found = _TOKEN_LINE.search(self.log())
        assert found is not None, self.log()
        return found.group(1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(env: dict[str, str], port: int, log_path: Path, workers: int = 2) -> Server:
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "azora.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", env, log_path, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        if server.ready() and len(server.workers()) >= workers:
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.log()}")
