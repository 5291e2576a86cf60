"""Bulk writes for the journal writer: the same rows on every back end, loaded the fastest
way each offers.

PostgreSQL gets ``COPY`` for inserts and one ``UPDATE ... FROM unnest(...)`` for balances:
a batch costs a handful of round trips whatever its size, and SQLAlchemy compiles nothing
per row. SQLite, in process, gets plain ``executemany``. Both run inside the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, String, Table, any_, bindparam, insert, update
from sqlalchemy.exc import DBAPIError

from ledger.store.tables import balances

BalanceRow = tuple[str, int, int, int, int]  # account_id, balance, pending_out, pending_in, seq

_PG_UPDATE_BALANCES = """
UPDATE balances AS b
SET balance = n.balance, pending_out = n.pending_out, pending_in = n.pending_in,
    last_seq = n.last_seq
FROM unnest(%s::text[], %s::numeric[], %s::numeric[], %s::numeric[], %s::bigint[])
     AS n(account_id, balance, pending_out, pending_in, last_seq)
WHERE b.account_id = n.account_id
"""


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, Python values) into ``table``."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    raw = conn.connection.driver_connection
    assert raw is not None
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except dbapi_error as error:  # the driver's own: translate it as SQLAlchemy does
        raise DBAPIError.instance(sql, None, error, dbapi_error) from error


def update_balances(conn: Connection, rows: Sequence[BalanceRow]) -> None:
    """Set the projection of each account in ``rows`` (already locked by the caller)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        columns = list(zip(*rows, strict=True))
        conn.exec_driver_sql(_PG_UPDATE_BALANCES, tuple(list(c) for c in columns))
        return
    conn.execute(
        update(balances)
        .where(balances.c.account_id == bindparam("b_account_id"))
        .values(
            balance=bindparam("b_balance"),
            pending_out=bindparam("b_pending_out"),
            pending_in=bindparam("b_pending_in"),
            last_seq=bindparam("b_last_seq"),
        ),
        [
            {
                "b_account_id": r[0],
                "b_balance": r[1],
                "b_pending_out": r[2],
                "b_pending_in": r[3],
                "b_last_seq": r[4],
            }
            for r in rows
        ],
    )


def member_of(conn: Connection, column: Any, items: Sequence[str]) -> Any:
    """``column IN items`` as the back end likes it best.

    On PostgreSQL ``= ANY(array)``: one parameter, so the statement text is the same for
    any batch size and is parsed and planned once (an IN list of 1,000 parameters costs
    milliseconds of client-side parsing alone). SQLite takes the plain IN list.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(items), type_=ARRAY(String)))
    return column.in_(list(items))
