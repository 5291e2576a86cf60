"""Throw-away PostgreSQL clusters for fault injection: initdb in a temporary directory, a
primary with a synchronous streaming standby, hard stops, promotion, paused backends.

Never touches the shared server: every cluster here is created, owned and removed by the
test that made it. As root, initdb and the server run as the ``postgres`` user (initdb
refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN_DIRS = (
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
)
START_TIMEOUT_S = 60.0
RUN_AS = "postgres"


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary (initdb, pg_ctl, ...): from the versioned directory or PATH."""
    for folder in BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server package")
    return found


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pick_port(preferred: int) -> int:
    """``preferred`` when nothing listens there, else any free port."""
    if port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", RUN_AS, "--", *argv]
    return argv


def _run(argv: list[str], *, timeout_s: float = 120.0) -> str:
    done = subprocess.run(
        _as_owner(argv), capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def make_workdir(prefix: str) -> Path:
    """A temporary directory the cluster's owner may write (as root: ``postgres``)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


@dataclass
class Cluster:
    """One PostgreSQL server on 127.0.0.1:``port`` with its data in ``datadir``."""

    datadir: Path
    port: int
    name: str
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.datadir.parent / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def start(self) -> None:
        _run(
            [
                pg_bin("pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.log),
                "-w",
                "-t",
                str(int(START_TIMEOUT_S)),
                "start",
            ]
        )

    def stop(self) -> None:
        """A fast, clean shutdown (rolls back what runs, checkpoints)."""
        _run([pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"])

    def postmaster_pid(self) -> int | None:
        pidfile = self.datadir / "postmaster.pid"
        try:
            return int(pidfile.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        pid = self.postmaster_pid()
        if pid is None:
            return []
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [pid, *(int(c) for c in children)]

    def kill_hard(self) -> None:
        """SIGKILL the postmaster and all its processes at once: a machine that died."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart_hard(self) -> None:
        """An immediate shutdown (no checkpoint: crash recovery at start) and a start."""
        _run([pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop"])
        self.start()

    def client_backends(self, database: str) -> list[tuple[int, str, str]]:
        """(pid, state, query) of the sessions on ``database``, the busiest first."""
        rows = self.psql(
            "SELECT pid, coalesce(state, ''), left(regexp_replace(query, '\\s+', ' ', 'g'), 60) "
            f"FROM pg_stat_activity WHERE datname = '{database}' "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
            "ORDER BY state = 'active' DESC, state = 'idle in transaction' DESC"
        )
        found = []
        for line in rows.splitlines():
            pid, state, query = line.split("|", 2)
            found.append((int(pid), state, query))
        return found

    def promote(self) -> None:
        _run([pg_bin("pg_ctl"), "-D", str(self.datadir), "-w", "promote"])

    def psql(self, sql: str, database: str = "postgres") -> str:
        return _run(
            [
                pg_bin("psql"),
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.dsn(database),
                "-c",
                sql,
            ],
            timeout_s=60,
        )

    def remove(self) -> None:
        """Stop the server for good and delete its data directory."""
        if self.running():
            self.kill_hard()
        shutil.rmtree(self.datadir, ignore_errors=True)


def init_primary(workdir: Path, port: int, *, sync_standby: str | None = None) -> Cluster:
    """initdb, replication allowed from 127.0.0.1, started. ``sync_standby``: the
    application_name every commit waits for (``synchronous_standby_names``)."""
    datadir = workdir / "primary"
    _run(
        [
            pg_bin("initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
    )
    settings = [
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        f"unix_socket_directories = '{datadir}'",
        "wal_level = replica",
        "max_wal_senders = 5",
        "wal_keep_size = '256MB'",
        "synchronous_commit = on",
        "fsync = on",
        "max_connections = 200",
        "shared_buffers = '64MB'",
        "log_min_messages = warning",
    ]
    if sync_standby is not None:
        settings.append(f"synchronous_standby_names = 'FIRST 1 ({sync_standby})'")
    with (datadir / "postgresql.conf").open("a") as conf:
        conf.write("\n# azora fault tests\n" + "\n".join(settings) + "\n")
    with (datadir / "pg_hba.conf").open("a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    cluster = Cluster(datadir, port, "primary")
    cluster.start()
    return cluster


def init_standby(primary: Cluster, workdir: Path, port: int, *, name: str) -> Cluster:
    """pg_basebackup of ``primary`` as a streaming standby with ``application_name=name``."""
    datadir = workdir / name
    _run(
        [
            pg_bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(datadir),
            "-X",
            "stream",
            "-c",
            "fast",
            "-R",
        ]
    )
    # postgresql.auto.conf (written by -R) is read last: settings there win. Once promoted,
    # this server has no standby of its own: it must not wait for one on every commit.
    with (datadir / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            f"port = {port}\nunix_socket_directories = '{datadir}'\n"
            f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=postgres "
            f"application_name={name}'\nsynchronous_standby_names = ''\n"
        )
    cluster = Cluster(datadir, port, name)
    cluster.start()
    return cluster


def wait_sync(primary: Cluster, name: str, timeout_s: float = 30.0) -> None:
    """Until ``name`` streams from ``primary`` as its synchronous standby."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = primary.psql(
            f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'"
        ).strip()
        if state == "sync":
            return
        time.sleep(0.2)
    raise RuntimeError(f"standby {name} did not become synchronous")
