"""Start and stop a local anvil node (tests, ``make run``), found inside node_modules.

The binary ships in the npm package ``@foundry-rs/anvil-<os>-<arch>`` (pinned in
package-lock.json). A node is started on a given or free port, optionally persisting its
chain to ``--state PATH``, is waited for until it answers ``eth_chainId``, and is stopped by
its PID (SIGTERM first so that anvil writes its state, SIGKILL after a timeout).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from chain.artifact import REPO_ROOT
from chain.devchain import ANVIL_CHAIN_ID, ANVIL_DEV_KEY
from chain.errors import LocalNodeError

__all__ = ["ANVIL_CHAIN_ID", "ANVIL_DEV_KEY", "LocalNode", "find_anvil", "start_anvil", "stop_pid"]

ANVIL_ENV_VAR = "AZORA_ANVIL_BIN"
LOCALHOST = "127.0.0.1"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 5  # a free port can be taken between our probe and anvil's bind
STATE_INTERVAL_S = 2  # anvil also dumps --state every this many seconds, not only on exit


_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def find_anvil(repo_root: Path = REPO_ROOT) -> Path:
    """The anvil binary: $AZORA_ANVIL_BIN, node_modules' platform package, or one on PATH."""
    candidates: list[Path] = []
    if override := os.environ.get(ANVIL_ENV_VAR):
        candidates.append(Path(override))
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    scoped = repo_root / "node_modules" / "@foundry-rs"
    candidates.append(scoped / f"anvil-{system}-{arch}" / "bin" / "anvil")
    candidates.extend(sorted(scoped.glob("anvil-*/bin/anvil")))
    if on_path := shutil.which("anvil"):
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise LocalNodeError(
        f"anvil not found (looked at {', '.join(str(c) for c in candidates)}): run `npm ci`"
    )


def free_port(host: str = LOCALHOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def rpc_chain_id(rpc_url: str, timeout_s: float = 1.0) -> int | None:
    """The node's chain id, or None when nothing answers at ``rpc_url``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(  # noqa: S310 - the URL is ours (http://127.0.0.1:...)
        rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return int(json.loads(response.read())["result"], 16)
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return None


@dataclass
class LocalNode:
    """A running anvil we started."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    state_path: Path | None

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (anvil dumps --state), then SIGKILL past ``timeout_s``; reaps the child."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)

    def __enter__(self) -> LocalNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_anvil(
    port: int | None = None,
    *,
    state_path: Path | None = None,
    host: str = LOCALHOST,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    timeout_s: float = START_TIMEOUT_S,
) -> LocalNode:
    """Starts anvil and returns once it answers JSON-RPC.

    ``port=None`` picks a free port (retrying if another process takes it first).
    ``state_path`` loads the chain from that file if it exists and writes it back on exit
    and every STATE_INTERVAL_S seconds.
    """
    binary = find_anvil()
    attempts = 1 if port is not None else PORT_ATTEMPTS
    last_error = ""
    for _ in range(attempts):
        chosen = port if port is not None else free_port(host)
        args = [str(binary), "--host", host, "--port", str(chosen), *extra_args]
        if state_path is not None:
            state_path.parent.mkdir(parents=True, exist_ok=True)
            args += ["--state", str(state_path), "--state-interval", str(STATE_INTERVAL_S)]
        process = _spawn(args, log_path)
        node = LocalNode(process, host, chosen, state_path)
        if _wait_until_answering(node, timeout_s):
            return node
        node.stop()
        last_error = f"anvil on port {chosen} exited with {process.returncode}"
    raise LocalNodeError(f"anvil did not start: {last_error}")


def _spawn(args: list[str], log_path: Path | None) -> subprocess.Popen[bytes]:
    """Runs anvil with its output appended to ``log_path`` (discarded when None)."""
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "ab")) if log_path else subprocess.DEVNULL
        return subprocess.Popen(  # noqa: S603 - our binary, our arguments
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _wait_until_answering(node: LocalNode, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            return False
        if rpc_chain_id(node.rpc_url, timeout_s=0.5) is not None:
            return True
        time.sleep(0.05)
    return False


def stop_pid(pid: int, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stops a node started by an earlier process (e.g. from a PID file).

    Returns False when no such process existed. Only for PIDs this project recorded.
    """
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m chain.localnode start|stop``: a background anvil for ``make run``.

    ``start`` does nothing when something already answers on the port; otherwise it starts
    anvil detached from this process and writes its PID to ``--pid-file``. ``stop`` stops
    the PID recorded there.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chain.localnode")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--state", type=Path, help="persist the chain to this file")
    parser.add_argument("--pid-file", type=Path, default=Path(".azora/chain/anvil.pid"))
    parser.add_argument("--log", type=Path, help="append anvil's output to this file")
    args = parser.parse_args(argv)
    if args.action == "stop":
        try:
            pid = int(args.pid_file.read_text().strip())
        except (OSError, ValueError):
            print(f"no PID in {args.pid_file}")
            return 1
        stopped = stop_pid(pid)
        args.pid_file.unlink(missing_ok=True)
        print(f"anvil {pid} {'stopped' if stopped else 'was not running'}")
        return 0
    url = f"http://{LOCALHOST}:{args.port}"
    if (chain_id := rpc_chain_id(url)) is not None:
        print(f"a node already answers at {url} (chain {chain_id})")
        return 0
    node = start_anvil(args.port, state_path=args.state, log_path=args.log)
    args.pid_file.parent.mkdir(parents=True, exist_ok=True)
    args.pid_file.write_text(f"{node.pid}\n")
    print(f"anvil {node.pid} answers at {node.rpc_url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
