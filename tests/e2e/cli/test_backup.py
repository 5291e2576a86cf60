"""``azora backup create / verify / restore`` on PostgreSQL and SQLite: a backup restores into
a ledger that replays cleanly, stays valid while the live journal grows, and a backup of
another journal is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import Ledger
from ledger.store.engine import make_engine
from tests.conftest import PgDatabases
from tests.e2e.conftest import ROOT
from tests.integration.ledgerkit import move, open_accounts

pytestmark = pytest.mark.integration


def azora(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AZORA_")},
        "AZORA_DATABASE_URL": url,
        "AZORA_ANCHORING": "off",
        "AZORA_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "azora.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def fill(url: str, transfers: int, tag: str) -> None:
    engine = make_engine(url)
    with Ledger(engine, group_commit=False) as book:
        if book.head_seq() == 0:
            open_accounts(book, "user:a:usd", "user:b:usd", world="world:card")
        move(book, "world:card", "user:a:usd", 10_000, key=f"{tag}-fund-{uuid.uuid4().hex}")
        for n in range(transfers):
            move(book, "user:a:usd", "user:b:usd", n + 1, key=f"{tag}-{n}-{uuid.uuid4().hex}")
    engine.dispose()


@pytest.fixture
def empty_pg(pg_databases: PgDatabases) -> Iterator[Callable[[], str]]:
    """A factory of empty databases (no schema) on the test server."""
    made: list[str] = []
    admin = create_engine(pg_databases.base.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def make() -> str:
        name = f"azora_backup_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return pg_databases.url(name)

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def scratch_databases(url: str) -> list[str]:
    admin = create_engine(make_url(url).set(database="postgres"))
    with admin.connect() as conn:
        names = (
            conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'azora_restore_check_%'")
            )
            .scalars()
            .all()
        )
    admin.dispose()
    return list(names)


def test_a_postgresql_backup_verifies_restores_and_refuses_another_journal(
    pg_url: str, pg_databases: PgDatabases, empty_pg: Callable[[], str], tmp_path: Path
) -> None:
    fill(pg_url, 25, "live")
    before = set(scratch_databases(pg_url))
    dump = tmp_path / "ledger.dump"
    made = azora(pg_url, tmp_path, "backup", "create", str(dump))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "journal head seq 26," in made.stdout  # the funding and 25 transfers
    assert "backup verify: OK" in made.stdout
    assert set(scratch_databases(pg_url)) == before, "the scratch database is dropped"
    assert azora(pg_url, tmp_path, "backup", "create", str(dump)).returncode == 1  # no overwrite

    fill(pg_url, 5, "later")  # the live journal grows: the backup is still a prefix of it
    again = azora(pg_url, tmp_path, "backup", "verify", str(dump))
    assert again.returncode == 0, again.stdout + again.stderr

    target = empty_pg()
    restored = azora(pg_url, tmp_path, "backup", "restore", str(dump), "--to", target)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "ledger verify: OK (26 entries replayed)" in restored.stdout
    engine = make_engine(target)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM entries")).scalar_one() == 26
    engine.dispose()

    other = pg_databases.fresh()
    fill(other, 3, "other")
    foreign = azora(pg_url, tmp_path, "backup", "verify", str(dump))
    assert foreign.returncode == 0  # still ours
    other_dump = tmp_path / "other.dump"
    assert azora(other, tmp_path, "backup", "create", str(other_dump)).returncode == 0
    refused = azora(pg_url, tmp_path, "backup", "verify", str(other_dump))
    assert refused.returncode == 1
    assert "is not in the live journal" in refused.stdout
    pg_databases.drop(other)


def test_a_sqlite_backup_is_an_online_copy_that_verifies(
    make_db_url: Callable[[str], str], tmp_path: Path
) -> None:
    url = make_db_url("sqlite")
    fill(url, 10, "live")
    copy = tmp_path / "backup.db"
    made = azora(url, tmp_path, "backup", "create", str(copy))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "backup verify: OK" in made.stdout
    restored_path = tmp_path / "restored" / "ledger.db"
    restored = azora(
        url, tmp_path, "backup", "restore", str(copy), "--to", f"sqlite:///{restored_path}"
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "ledger verify: OK (11 entries replayed)" in restored.stdout
    exists = azora(
        url, tmp_path, "backup", "restore", str(copy), "--to", f"sqlite:///{restored_path}"
    )
    assert exists.returncode == 1 and "exists" in exists.stderr
