"""Verified backups: a dump of the database, and the proof that it restores into a ledger
that replays cleanly and agrees with the live one.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, taken without stopping
writers) and ``pg_restore``; SQLite: the online backup API (a consistent copy of a live
file). :func:`check` restores a backup into a scratch database (a new database on the same
PostgreSQL server, a temporary file for SQLite), replays its journal with
:func:`ledger.verify.verify`, and compares it with the live database: the restored journal
must be a prefix of the live one (the live entry at the restored head's ``seq`` has the same
hash), so a backup of the wrong database, or of a forked one, fails.

Passwords never reach a command line or a message: libpq gets them in ``PGPASSWORD``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from azora.db import display_url, sqlite_path
from ledger.store.engine import make_engine
from ledger.verify import verify

DUMP_TIMEOUT_S = 6 * 3600
SCRATCH_PREFIX = "azora_restore_check_"
COUNTED_TABLES = ("accounts", "entries", "entry_lines", "balances", "token_leaves")


class BackupError(RuntimeError):
    """A backup could not be made, restored or verified; the message says why."""


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str  # hex

    def __str__(self) -> str:
        return f"seq {self.seq}, hash {self.hash[:16]}…"


@dataclass
class Checked:
    """What :func:`check` found: ``problems`` is empty when the backup is good."""

    head: Head
    counts: dict[str, int]
    entries_replayed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` (multi-host included) and the environment that
    carries its password."""
    parsed = make_url(url)
    _, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    password = kwargs.pop("password", None)
    from psycopg.conninfo import make_conninfo

    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in kwargs.items()}), env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupError(f"{argv[0]} not found: install PostgreSQL's client programs")
    done = subprocess.run(  # noqa: S603 - our program, our arguments
        [tool, *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=DUMP_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        # pg_dump's complaint names hosts and roles, never the password (it is not in argv).
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def create(url: str, out: Path) -> int:
    """Write a backup of the database at ``url`` to ``out``; its size in bytes."""
    if out.exists():
        raise BackupError(f"{out} exists: a backup never overwrites a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    path = sqlite_path(url)
    if path is not None:
        _sqlite_copy(path, out)
    else:
        conninfo, env = _libpq(url)
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(out), conninfo],
            env,
            "pg_dump",
        )
    return out.stat().st_size


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the file is written."""
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)


def head(engine: Engine) -> Head:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")).first()
    return Head(0, "") if row is None else Head(int(row[0]), bytes(row[1]).hex())


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())  # noqa: S608
            for t in COUNTED_TABLES
        }


@contextmanager
def _scratch_restore(url: str, backup: Path) -> Iterator[Engine]:
    """The backup restored into a new database on ``url``'s server, dropped afterwards."""
    parsed = make_url(url)
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        scratch_url = parsed.set(database=name).render_as_string(hide_password=False)
        try:
            restore_into(scratch_url, backup)
            engine = make_engine(scratch_url)
            try:
                yield engine
            finally:
                engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def restore_into(url: str, backup: Path) -> None:
    """Restore ``backup`` into the (empty) database at ``url``."""
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    path = sqlite_path(url)
    if path is not None:
        if path.exists():
            raise BackupError(f"{path} exists: restore into a new file")
        path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(backup, path)
        return
    conninfo, env = _libpq(url)
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            conninfo,
            str(backup),
        ],
        env,
        "pg_restore",
    )


@contextmanager
def _restored(url: str, backup: Path) -> Iterator[Engine]:
    if sqlite_path(url) is None:
        with _scratch_restore(url, backup) as engine:
            yield engine
        return
    with tempfile.TemporaryDirectory(prefix="azora-restore-") as folder:
        copy = Path(folder) / "restored.db"
        restore_into(f"sqlite:///{copy}", backup)
        engine = make_engine(f"sqlite:///{copy}")
        try:
            yield engine
        finally:
            engine.dispose()


def check(url: str, backup: Path) -> Checked:
    """Restore ``backup`` aside, replay it, and compare it with the live database at ``url``."""
    with _restored(url, backup) as engine:
        restored_head = head(engine)
        found = Checked(restored_head, counts(engine))
        report = verify(engine)
        found.entries_replayed = report.entries
        found.problems += [f"ledger verify: {p}" for p in report.problems]
    live = make_engine(url)
    try:
        with live.connect() as conn:
            row = conn.execute(
                text("SELECT hash FROM entries WHERE seq = :s"), {"s": restored_head.seq}
            ).first()
    finally:
        live.dispose()
    if restored_head.seq and (row is None or bytes(row[0]).hex() != restored_head.hash):
        found.problems.append(
            f"the backup's journal head ({restored_head}) is not in the live journal at "
            f"{display_url(url)}: a backup of another database, or the journal forked"
        )
    return found
