"""Shared fixtures: real databases, fresh for every test.

PostgreSQL: one template database is migrated per test session (per xdist worker); each
test gets ``CREATE DATABASE ... TEMPLATE`` of it (~0.1 s). SQLite: a migrated template file
is copied per test. ``AZORA_TEST_PG_URL`` names the server (``make test`` sets it).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from azora.db import upgrade
from ledger import Ledger
from ledger.store.engine import make_engine

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/azora_test"
BACKENDS = ("sqlite", "postgresql")


def _admin_engine(url: str) -> Engine:
    return create_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=None
    )


def _worker() -> str:
    # Per process: two test runs on one server (or xdist workers) never share a template.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


class PgDatabases:
    """Creates throw-away databases from a migrated template on one server."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url)
        self.template = f"{self.base.database}_{_worker()}_tmpl"
        self.admin = _admin_engine(base_url)
        self.created: list[str] = []

    def _exec(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def prepare_template(self) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._exec(f'CREATE DATABASE "{self.template}"')
        engine = make_engine(self.url(self.template))
        upgrade(engine)
        engine.dispose()

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        name = f"{self.base.database}_{_worker()}_{uuid.uuid4().hex[:8]}"
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY')
        self.created.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases(os.environ.get("AZORA_TEST_PG_URL", DEFAULT_PG_URL))
    try:
        dbs.prepare_template()
    except Exception as error:  # a clear message instead of a wall of driver errors
        pytest.fail(f"PostgreSQL is needed for these tests ({error}); run `make test`")
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> Iterator[str]:
    url = pg_databases.fresh()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def make_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Callable[[str], str]]:
    """A factory: ``make_db_url("sqlite" | "postgresql")`` -> URL of a fresh database."""
    made: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            path = tmp_path / f"ledger-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(sqlite_template, path)
            return f"sqlite:///{path}"
        dbs: PgDatabases = request.getfixturevalue("pg_databases")
        url = dbs.fresh()
        made.append(url)
        return url

    yield make
    if made:
        dbs = request.getfixturevalue("pg_databases")
        for url in made:
            dbs.drop(url)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, make_db_url: Callable[[str], str]) -> str:
    """A fresh, migrated database on each back end: the contract suite runs on both."""
    return make_db_url(request.param)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def book(engine: Engine) -> Iterator[Ledger]:
    with Ledger(engine) as ledger:
        yield ledger
