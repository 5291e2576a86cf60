"""The writer's PostgreSQL parameters: the same values as the rows every other path writes."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.commands import PostEntry
from ledger.deciding import decide
from ledger.model import NewEntry, Posting
from ledger.store.pg_sql import columns, journal_columns
from ledger.store.rows import entry_row, line_row
from tests.unit.ledger.snapshots import NOW, accounts, counter, empty


def test_journal_columns_are_the_rows_of_the_decision_column_by_column() -> None:
    states = accounts(("w", "USD", True), ("a", "USD", False), ("b", "USD", False))
    commands = [
        PostEntry(NewEntry("fund", (Posting("w", "a", "USD", 500),)), "svc", "k1"),
        PostEntry(
            NewEntry(
                "hold",
                (Posting("a", "b", "USD", 70),),
                metadata={"note": "é", "n": 1},
                pending=True,
                expires_at=NOW + timedelta(days=1),
            ),
            "svc",
            "k2",
        ),
        PostEntry(NewEntry("pay", (Posting("a", "b", "USD", 30),)), "other", None),
    ]
    decision = decide(empty(states), commands, NOW, counter())
    assert len(decision.entries) == 3 and decision.lines
    rows = [entry_row(e) for e in decision.entries]
    lines = [line_row(line) for line in decision.lines]
    balances = [
        (a.account_id, a.balance, a.pending_out, a.pending_in, a.last_seq)
        for a in decision.accounts
    ]
    expected = [*columns(rows, 15), *columns(lines, 7), *columns(balances, 5)]
    numeric = {19, 20, 23, 24, 25}  # amounts and balances: sent as digits, cast by SQL
    assert [_decoded(a) for a in journal_columns(decision)] == [
        [str(v) for v in column] if n in numeric else column for n, column in enumerate(expected)
    ]
    assert [e.hash for e in decision.entries] == expected[14]
    assert all(len(h) == 32 for h in expected[14])


def test_columns_of_no_rows_are_empty_and_a_wrong_width_is_refused() -> None:
    assert columns([], 3) == [[], [], []]
    with pytest.raises(ValueError, match="expected 3"):
        columns([(1, 2)], 3)


# A reader of the binary array format written from PostgreSQL's documentation (array_recv),
# independent of the encoder: ndim, has-null flag, element OID, (length, lower bound) per
# dimension, then each element's length (-1: NULL) and bytes.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _decoded(array: bytes) -> list[Any]:
    ndim, _flags, oid = struct.unpack_from(">iiI", array)
    if ndim == 0:
        return []
    assert ndim == 1
    count, lower = struct.unpack_from(">ii", array, 12)
    assert lower == 1
    at = 20
    out: list[Any] = []
    for _ in range(count):
        (size,) = struct.unpack_from(">i", array, at)
        at += 4
        if size < 0:
            out.append(None)
            continue
        raw = array[at : at + size]
        at += size
        if oid == 20:  # bigint
            out.append(struct.unpack(">q", raw)[0])
        elif oid == 1184:  # timestamptz: microseconds since 2000-01-01 UTC
            out.append(_EPOCH + timedelta(microseconds=struct.unpack(">q", raw)[0]))
        elif oid == 17:  # bytea
            out.append(bytes(raw))
        else:
            assert oid == 25
            out.append(raw.decode())
    assert at == len(array)
    return out
