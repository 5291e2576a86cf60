"""The ledger's reads for projections, lookups and independent checks.

Domains read the journal through these (as :class:`ledger.Ledger` methods), never through
its tables. Every read is bounded: a page size, a number of ids, or a stream in chunks.

Why a page of :func:`events` is a consistent prefix: batches commit one after another under
the journal head lock, so once an entry of ``seq`` n is visible, every entry before it is
too. A projection that reads ``head_seq()`` and then ``events(after, limit, up_to_seq=head)``
sees every event up to that head, and nothing of a batch half-committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, Engine, and_, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ledger.checks import (
    KIND_PATTERN_SUFFIX,
    check_kind_pattern,
    check_principal,
    is_account_part,
    is_entry_id,
    is_idempotency_key,
)
from ledger.errors import InvalidRequest
from ledger.model import Entry, EntryType, HistoryLine, LineTotal, Period
from ledger.store.bulk import member_of
from ledger.store.loading import entries_by_ids, entries_by_keys
from ledger.store.rows import entry_from_row, line_from_row
from ledger.store.tables import entries, entry_lines, journal_head

EVENTS_MAX_LIMIT = 10_000
ENTRIES_BY_IDS_MAX = 1_000
KIND_PATTERNS_MAX = 64
LINES_CHUNK_ROWS = 10_000


def head_seq(conn: Connection) -> int:
    """The seq of the last committed entry (0 for an empty journal)."""
    return int(conn.execute(select(journal_head.c.seq).where(journal_head.c.id == 1)).scalar_one())


def check_kind_patterns(kinds: Sequence[str] | None) -> tuple[str, ...] | None:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        raise InvalidRequest("kinds is a list of kinds, not one string")
    if not 1 <= len(kinds) <= KIND_PATTERNS_MAX:
        raise InvalidRequest(f"give 1-{KIND_PATTERNS_MAX} kinds, or none for every kind")
    return tuple(check_kind_pattern(k) for k in kinds)


def kind_clause(
    conn: Connection, column: ColumnElement[str], kinds: Sequence[str]
) -> ColumnElement[bool]:
    """SQL for "``column`` matches one of ``kinds``" (exact kinds or ``prefix.*``)."""
    exact = [k for k in kinds if not k.endswith(KIND_PATTERN_SUFFIX)]
    prefixes = sorted({k[:-1] for k in kinds if k.endswith(KIND_PATTERN_SUFFIX)})
    clauses = [column.startswith(p, autoescape=True) for p in prefixes]
    if exact:
        clauses.append(member_of(conn, column, sorted(set(exact))))
    return or_(*clauses)


def events(
    conn: Connection,
    after_seq: int,
    limit: int,
    kinds: Sequence[str] | None = None,
    *,
    types: Collection[EntryType] | None = None,
    up_to_seq: int | None = None,
) -> list[Entry]:
    """Journal events with ``after_seq < seq <= up_to_seq``, in seq order, at most ``limit``."""
    if type(after_seq) is not int or after_seq < 0:
        raise InvalidRequest("after_seq is a non-negative integer")
    if type(limit) is not int or not 1 <= limit <= EVENTS_MAX_LIMIT:
        raise InvalidRequest(f"limit must be within 1..{EVENTS_MAX_LIMIT}")
    patterns = check_kind_patterns(kinds)
    clauses = [entries.c.seq > after_seq]
    if up_to_seq is not None:
        if type(up_to_seq) is not int:
            raise InvalidRequest("up_to_seq is an integer")
        clauses.append(entries.c.seq <= up_to_seq)
    if patterns is not None:
        clauses.append(kind_clause(conn, entries.c.kind, patterns))
    if types is not None:
        wanted = sorted(EntryType(t).value for t in types)
        if not wanted:
            return []
        clauses.append(member_of(conn, entries.c.type, wanted))
    stmt = select(entries).where(and_(*clauses)).order_by(entries.c.seq).limit(limit)
    return [entry_from_row(r) for r in conn.execute(stmt)]


def entry_by_key(conn: Connection, principal: str, key: str) -> Entry | None:
    """The entry ``principal`` recorded under idempotency ``key``, if any."""
    check_principal(principal)
    if not is_idempotency_key(key):
        return None  # no entry can carry it
    return entries_by_keys(conn, [(principal, key)]).get((principal, key))


def entries_with_ids(conn: Connection, ids: Collection[str]) -> dict[str, Entry]:
    """The entries of ``ids`` that exist (at most ENTRIES_BY_IDS_MAX ids)."""
    if isinstance(ids, str):
        raise InvalidRequest("ids is a collection of entry ids, not one string")
    if len(ids) > ENTRIES_BY_IDS_MAX:
        raise InvalidRequest(f"at most {ENTRIES_BY_IDS_MAX} ids per call")
    return entries_by_ids(conn, {i for i in ids if is_entry_id(i)})


def lines(
    engine: Engine,
    *,
    account_prefix: str,
    kinds: Sequence[str],
    up_to_seq: int,
    account_suffix: str = "",
) -> Iterator[HistoryLine]:
    """History lines of accounts named ``prefix…suffix`` with a kind of ``kinds`` and
    ``seq <= up_to_seq``, streamed in chunks (memory stays bounded), in no set order.

    A reference read for independent checks of a projection (it reads the history lines,
    which a projection of events does not).
    """
    wanted = LineFilter.checked(account_prefix, account_suffix, kinds, up_to_seq)
    return _stream_lines(engine, wanted)


def line_totals(
    engine: Engine,
    *,
    account_prefix: str,
    kinds: Sequence[str],
    up_to_seq: int,
    per: Period = Period.ALL,
    account_suffix: str = "",
) -> Iterator[LineTotal]:
    """The lines :func:`lines` selects, summed per account and UTC period ``per`` (by
    ``effective_at``); totals of zero are left out, the order is not set.

    PostgreSQL sums in SQL and streams the groups. SQLite stores amounts as text (its sums
    would be floats), so the lines are streamed and summed exactly here; the groups are
    held in memory, one int per (account, period).
    """
    wanted = LineFilter.checked(account_prefix, account_suffix, kinds, up_to_seq)
    per = Period(per)
    if engine.dialect.name == "postgresql":
        return _pg_totals(engine, wanted, per)
    return _summed(_stream_lines(engine, wanted), per)


@dataclass(frozen=True, slots=True)
class LineFilter:
    """Which history lines a reference read takes (checked by :meth:`checked`)."""

    prefix: str
    suffix: str
    patterns: tuple[str, ...]
    up_to_seq: int

    @classmethod
    def checked(cls, prefix: str, suffix: str, kinds: Sequence[str], up_to_seq: int) -> LineFilter:
        for part in (prefix, suffix):
            if not is_account_part(part):
                raise InvalidRequest("account_prefix and account_suffix are parts of account ids")
        patterns = check_kind_patterns(kinds)
        assert patterns is not None
        if type(up_to_seq) is not int:
            raise InvalidRequest("up_to_seq is an integer")
        return cls(prefix, suffix, patterns, up_to_seq)

    def where(self, conn: Connection) -> ColumnElement[bool]:
        clauses = [
            entry_lines.c.seq <= self.up_to_seq,
            kind_clause(conn, entry_lines.c.kind, self.patterns),
        ]
        if self.prefix:
            clauses.append(entry_lines.c.account_id.startswith(self.prefix, autoescape=True))
        if self.suffix:
            clauses.append(entry_lines.c.account_id.endswith(self.suffix, autoescape=True))
        return and_(*clauses)


def _stream_lines(engine: Engine, wanted: LineFilter) -> Iterator[HistoryLine]:
    with engine.connect().execution_options(yield_per=LINES_CHUNK_ROWS) as conn:
        for row in conn.execute(select(entry_lines).where(wanted.where(conn))):
            yield line_from_row(row)


def _summed(lines_: Iterator[HistoryLine], per: Period) -> Iterator[LineTotal]:
    totals: dict[tuple[str, date | None], int] = defaultdict(int)
    for line in lines_:
        totals[(line.account_id, per.start(line.effective_at))] += line.amount
    for (account_id, start), amount in totals.items():
        if amount != 0:
            yield LineTotal(account_id, start, amount)


def _pg_totals(engine: Engine, wanted: LineFilter, per: Period) -> Iterator[LineTotal]:
    total = func.sum(entry_lines.c.amount)
    groups: list[ColumnElement[Any]] = [entry_lines.c.account_id]
    if per is not Period.ALL:
        utc = func.timezone("UTC", entry_lines.c.effective_at)
        groups.append(cast(func.date_trunc(per.value, utc), Date))
    with engine.connect().execution_options(yield_per=LINES_CHUNK_ROWS) as conn:
        stmt = select(*groups, total).where(wanted.where(conn)).group_by(*groups).having(total != 0)
        for row in conn.execute(stmt):
            start = row[1] if per is not Period.ALL else None
            yield LineTotal(row[0], start, int(row[-1]))
