"""``azora db upgrade`` and ``make run`` on PostgreSQL URLs with percent-escapes: a password
holding ``@ / % : # ?`` and spaces, and the multi-host failover form; and the database
commands' behaviour when the database is missing (they say so and create nothing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PgDatabases
from tests.e2e.conftest import ROOT, free_port

PASSWORD = "p@ss/w%rd:#? x y"
QUOTED = quote(PASSWORD, safe="")


def run_azora(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azora.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def base_env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AZORA_")},
        "AZORA_DATABASE_URL": url,
        "AZORA_ANCHORING": "off",
        "AZORA_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def escaped_urls(pg_databases: PgDatabases) -> Iterator[dict[str, str]]:
    """A fresh empty database owned by a role whose password needs URL-escaping, named by a
    plain URL with that password and by the multi-host form (the same server twice)."""
    server = make_url(
        os.environ.get("AZORA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x")
    )
    role = f"azora_{uuid.uuid4().hex[:8]}"
    database = f"{role}_db"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    escaped = PASSWORD.replace("'", "''")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{escaped}'"))
        conn.execute(text(f"CREATE DATABASE {database} OWNER {role}"))
    host = f"{server.host or '127.0.0.1'}:{server.port or 5432}"
    yield {
        "password": f"postgresql+psycopg://{role}:{QUOTED}@{host}/{database}",
        "multihost": f"postgresql+psycopg://{role}:{QUOTED}@/{database}?host={host}&host={host}"
        "&target_session_attrs=read-write",
    }
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def assert_no_password(output: str) -> None:
    assert PASSWORD not in output
    assert QUOTED not in output
    assert quote(PASSWORD) not in output


@pytest.mark.parametrize("form", ["password", "multihost"])
def test_db_upgrade_then_commands_work(
    escaped_urls: dict[str, str], form: str, tmp_path: Path
) -> None:
    env = base_env(escaped_urls[form], tmp_path)
    upgraded = run_azora(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is up to date" in upgraded.stdout
    assert "***" in upgraded.stdout  # the URL is shown, its password masked
    assert_no_password(upgraded.stdout + upgraded.stderr)
    verified = run_azora(env, "ledger", "verify", "--quiet")
    assert verified.returncode == 0, verified.stderr
    assert_no_password(verified.stdout + verified.stderr)


def test_make_run_serves_on_an_escaped_multihost_url(
    escaped_urls: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**base_env(escaped_urls["multihost"], tmp_path), "AZORA_PORT": str(port)}
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                ready = False
            if ready:
                break
            time.sleep(0.2)
        assert ready, log_path.read_text(errors="replace")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert_no_password(log_path.read_text(errors="replace"))


def test_a_refused_connection_shows_no_password(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://azora:{QUOTED}@127.0.0.1:{port}/azora"
    refused = run_azora(base_env(url, tmp_path), "keys", "list")
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "nothing answers" in refused.stderr
    assert_no_password(refused.stdout + refused.stderr)


def test_a_missing_sqlite_database_is_named_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "ledger.db"
    env = base_env(f"sqlite:///{path}", tmp_path)
    for args in (("keys", "list"), ("ledger", "verify"), ("serve",), ("anchor", "--once")):
        refused = run_azora(env, *args)
        assert refused.returncode == 1, (args, refused.stdout)
        assert "Traceback" not in refused.stderr
        assert str(path) in refused.stderr
        assert "azora db upgrade" in refused.stderr
    assert not path.parent.exists()
    upgraded = run_azora(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert path.is_file()


def test_a_missing_or_unmigrated_postgres_database_is_named(
    pg_databases: PgDatabases, tmp_path: Path
) -> None:
    missing = pg_databases.url(f"azora_missing_{uuid.uuid4().hex[:8]}")
    refused = run_azora(base_env(missing, tmp_path), "keys", "list")
    assert refused.returncode == 1
    assert "does not exist" in refused.stderr and "azora db upgrade" in refused.stderr
    empty = f"azora_empty_{uuid.uuid4().hex[:8]}"
    pg_databases._exec(f'CREATE DATABASE "{empty}"')
    try:
        refused = run_azora(base_env(pg_databases.url(empty), tmp_path), "ledger", "verify")
        assert refused.returncode == 1
        assert "has no schema yet" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        pg_databases.drop(pg_databases.url(empty))
