"""The writer's hand-built binary arrays, read back by PostgreSQL: every value as sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from ledger.store.pg_arrays import (
    bytea_array,
    int8_array,
    numeric_text_array,
    teach,
    text_array,
    timestamptz_array,
)

# Text PostgreSQL can store: any character but NUL and the surrogates.
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
BIG = 10**77  # numeric(78, 0): the ledger's amounts


@pytest.fixture(scope="module")
def conn(pg_databases: Any) -> Iterator[psycopg.Connection[Any]]:
    url = pg_databases.fresh()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        teach(connection)
        yield connection
    pg_databases.drop(url)


def _read(conn: psycopg.Connection[Any], cast: str, array: bytes) -> list[Any]:
    row = conn.execute(f"SELECT %b::{cast}", [array]).fetchone()
    assert row is not None
    return list(row[0])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(st.none() | texts, max_size=20),
    ints=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20),
    amounts=st.lists(st.integers(-BIG, BIG), max_size=20),
    blobs=st.lists(st.binary(max_size=40), max_size=20),
    moments=st.lists(st.none() | instants, max_size=20),
)
def test_postgresql_reads_back_every_value_sent(
    conn: psycopg.Connection[Any],
    words: list[str | None],
    ints: list[int],
    amounts: list[int],
    blobs: list[bytes],
    moments: list[datetime | None],
) -> None:
    assert _read(conn, "text[]", text_array(words)) == words
    assert _read(conn, "bigint[]", int8_array(ints)) == ints
    assert _read(conn, "text[]::numeric[]", numeric_text_array(amounts)) == amounts
    assert _read(conn, "bytea[]", bytea_array(blobs)) == blobs
    assert _read(conn, "timestamptz[]", timestamptz_array(moments)) == moments


def test_a_batch_sharing_instants_sends_each_as_itself(conn: psycopg.Connection[Any]) -> None:
    now = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)
    moments = [now, now, now + timedelta(microseconds=1), now, None]
    assert _read(conn, "timestamptz[]", timestamptz_array(moments)) == moments


def test_values_postgresql_cannot_take_are_refused_before_anything_is_sent() -> None:
    with pytest.raises(UnicodeEncodeError):  # a ValueError: the writer isolates its command
        text_array(["fine", "\ud800"])
    with pytest.raises(OverflowError):
        int8_array([2**63])


def test_a_connection_not_taught_would_send_bytes(conn: psycopg.Connection[Any]) -> None:
    """Why :func:`teach` exists: untaught, psycopg sends the arrays as ``bytea``."""
    dsn = conn.info.dsn
    with psycopg.connect(dsn, autocommit=True) as other:
        with pytest.raises(psycopg.errors.CannotCoerce):
            other.execute("SELECT %b::bigint[]", [int8_array([1])])
        teach(other)
        row = other.execute("SELECT %b::bigint[]", [int8_array([1])]).fetchone()
        assert row is not None and row[0] == [1]
