"""The leaderboard projection: scores per user and window, kept from the journal.

Score of a user in a window = the sum of the lines on ``user:{id}:azr`` whose kind counts
as earned (``reward.earned.*``, minus ``reward.adjusted.earned`` corrections) with an
``effective_at`` inside the window (all time, the ISO week, the calendar month; UTC).
``leaderboard_scores`` holds (period, period_start, user_id) -> score for every window any
earning fell in; ``leaderboard_buckets`` the ranked users per score bucket (``scores.py``).

The :class:`Projector` reads the journal only through the ledger's public read API. It
catches up from ``Ledger.events`` by ``seq`` with a stored checkpoint: a page of events up
to a ``Ledger.head_seq()`` is read first (every event up to a head is committed and never
changes), then applied under a row lock on the checkpoint, skipping what another process
projected meanwhile, so any number of processes may run it (on reads, and from ``azora
rewards rebuild-leaderboards``); scores, bucket counts and the checkpoint move in one
transaction, the checkpoint only to a head, with no gap. :meth:`Projector.rebuild` starts
over from ``Ledger.line_totals``; :func:`expected_scores` recomputes every score from
``Ledger.lines`` (an independent path), and :func:`~.scores.expected_buckets` the buckets
from those, so that ``azora rewards check-leaderboards`` can prove the projection equal to
the ledger.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger import WRITE_TXN, EntryType, Ledger, Period, Posting
from monetization.rewards.model import (
    ALL_TIME_START,
    AZR_CODE,
    KIND_ADJUSTED_EARNED,
    KIND_EARNED_PREFIX,
    Window,
    user_of_account,
)
from monetization.rewards.scores import (
    BucketKey,
    Key,
    bucket_of,
    expected_buckets,
    pg_bucket_sql,
    windows_of,
)
from monetization.rewards.tables import (
    leaderboard_buckets,
    leaderboard_checkpoint,
    leaderboard_scores,
)

CATCH_UP_PAGE = 10_000  # journal positions per transaction: at most the ledger's event page
UPSERT_CHUNK = 1_000
STREAM_ROWS = 20_000
# The kinds of the lines that make up a score (model.counts_as_earned), as ledger patterns.
EARNED_KINDS = (KIND_EARNED_PREFIX + "*", KIND_ADJUSTED_EARNED)
USER_ACCOUNTS = ("user:", ":azr")  # user_account(id): prefix and suffix


class Projector:
    def __init__(self, book: Ledger) -> None:
        self.book = book
        self.engine = book.engine
        # One thread of a process catches up at a time; the others wait, then find it done.
        self._catching_up = threading.Lock()

    def lag(self) -> int:
        """Journal entries not yet projected (cheap: two one-row reads, no lock)."""
        head = self.book.head_seq()
        with self.engine.connect() as conn:
            done = _checkpoint(conn)
        return max(head - done, 0)

    def catch_up(self, max_entries: int | None = None) -> int:
        """Project entries past the checkpoint (up to ``max_entries``); returns how many."""
        total = 0
        more = True
        while more and (max_entries is None or total < max_entries):
            page = CATCH_UP_PAGE if max_entries is None else min(CATCH_UP_PAGE, max_entries - total)
            with self._catching_up:
                done, more = self._catch_up_page(page)
            total += done
        return total

    def _catch_up_page(self, page: int) -> tuple[int, bool]:
        """Project up to ``page`` journal positions; returns how many, and whether the head
        was further than this page reached."""
        with self.engine.connect() as conn:
            read_from = _checkpoint(conn)
        head = self.book.head_seq()
        target = min(head, read_from + page)
        if target <= read_from:
            return 0, False
        events = self.book.events(
            read_from, page, EARNED_KINDS, types={EntryType.POSTED}, up_to_seq=target
        )
        with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
            checkpoint = _checkpoint(conn, lock=True)
            if not read_from <= checkpoint < target:
                return 0, checkpoint < head  # projected meanwhile (or rebuilt): read again
            deltas: dict[Key, int] = defaultdict(int)
            for event in events:
                if event.seq <= checkpoint:
                    continue  # another process projected it after our read
                for user, amount in _user_deltas(event.postings):
                    for period, start in windows_of(event.effective_at):
                        deltas[(period, start, user)] += amount
            apply_deltas(conn, deltas)
            _move_checkpoint(conn, target)
            return target - checkpoint, target < head

    def rebuild(self) -> int:
        """Replace the projection with one computed from the journal; returns its rows."""
        with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
            _checkpoint(conn, lock=True)
            head = self.book.head_seq()  # the totals up to it are committed and final
            conn.execute(delete(leaderboard_scores))
            conn.execute(delete(leaderboard_buckets))
            scores = self._totals(head)
            if _on_pg(conn):  # COPY, then the bucket counts set-based from the scores
                count = _copy_scores(conn, scores)
                conn.execute(text(_PG_REBUILD_BUCKETS.format(bucket=pg_bucket_sql("score"))))
            else:
                count = _insert_scores(conn, scores)
            _move_checkpoint(conn, head)
        return count

    def _totals(self, up_to_seq: int) -> Iterator[tuple[Key, int]]:
        """Every non-zero score up to ``up_to_seq``, from the ledger's per-period sums."""
        prefix, suffix = USER_ACCOUNTS
        for window in Window:
            for total in self.book.line_totals(
                account_prefix=prefix,
                account_suffix=suffix,
                kinds=EARNED_KINDS,
                up_to_seq=up_to_seq,
                per=Period(window.value),
            ):
                user = user_of_account(total.account_id)
                if user is not None:
                    start = total.period_start or ALL_TIME_START
                    yield (window.value, start.isoformat(), user), total.amount

    def check(self) -> list[str]:
        """Differences between the projection and a recomputation from the ledger's history
        lines (empty when equal). Catches up first, then compares at the checkpoint."""
        self.catch_up()
        options: dict[str, Any] = {}
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"  # the checkpoint and its scores
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            checkpoint = _checkpoint(conn)
            have = {
                (r.period, r.period_start, r.user_id): r.score
                for r in conn.execute(select(leaderboard_scores)).yield_per(STREAM_ROWS)
                if r.score != 0
            }
            have_buckets = {
                (r.period, r.period_start, r.bucket): r.users
                for r in conn.execute(select(leaderboard_buckets))
                if r.users != 0
            }
        want = expected_scores(self.book, checkpoint)
        return _differences(want, have, have_buckets)


def _differences(
    want: dict[Key, int], have: dict[Key, int], have_buckets: dict[BucketKey, int]
) -> list[str]:
    problems = []
    for key in sorted(set(want) | set(have)):
        if want.get(key, 0) != have.get(key, 0):
            problems.append(
                f"{key[0]} {key[1]} user {key[2]}: projection {have.get(key, 0)}, "
                f"ledger {want.get(key, 0)}"
            )
    want_buckets = expected_buckets(want)
    for bkey in sorted(set(want_buckets) | set(have_buckets)):
        if want_buckets.get(bkey, 0) != have_buckets.get(bkey, 0):
            problems.append(
                f"{bkey[0]} {bkey[1]} bucket {bkey[2]}: projection "
                f"{have_buckets.get(bkey, 0)} users, ledger {want_buckets.get(bkey, 0)}"
            )
    return problems


def _user_deltas(postings: Iterable[Posting]) -> Iterator[tuple[str, int]]:
    for p in postings:
        if p.asset != AZR_CODE:
            continue
        if (user := user_of_account(p.destination)) is not None:
            yield user, p.amount
        if (user := user_of_account(p.source)) is not None:
            yield user, -p.amount


def _checkpoint(conn: Connection, *, lock: bool = False) -> int:
    stmt = select(leaderboard_checkpoint.c.seq).where(leaderboard_checkpoint.c.id == 1)
    return int(conn.execute(stmt.with_for_update() if lock else stmt).scalar_one())


def _move_checkpoint(conn: Connection, seq: int) -> None:
    conn.execute(
        update(leaderboard_checkpoint).where(leaderboard_checkpoint.c.id == 1).values(seq=seq)
    )


def apply_deltas(conn: Connection, deltas: dict[Key, int]) -> None:
    """Add ``deltas`` to the stored scores (read, add in Python: exact on both back ends)."""
    keys = [k for k, v in deltas.items() if v != 0]
    for i in range(0, len(keys), UPSERT_CHUNK):
        chunk = keys[i : i + UPSERT_CHUNK]
        current = {
            (r.period, r.period_start, r.user_id): r.score
            for r in conn.execute(
                select(leaderboard_scores).where(
                    tuple_(
                        leaderboard_scores.c.period,
                        leaderboard_scores.c.period_start,
                        leaderboard_scores.c.user_id,
                    ).in_(chunk)
                )
            )
        }
        new = {k: current.get(k, 0) + deltas[k] for k in chunk}
        _upsert(conn, new)
        moves: dict[BucketKey, int] = defaultdict(int)
        for (period, start, _user), score in new.items():
            old = current.get((period, start, _user), 0)
            if old > 0:
                moves[(period, start, bucket_of(old))] -= 1
            if score > 0:
                moves[(period, start, bucket_of(score))] += 1
        _move_buckets(conn, moves)


def _move_buckets(conn: Connection, moves: dict[BucketKey, int]) -> None:
    """Add ``moves`` to the bucket counts; buckets left empty are deleted. (Decrements are
    UPDATEs of rows that exist: an upsert of a negative count would trip the CHECK.)"""
    b = leaderboard_buckets.c
    key = tuple_(b.period, b.period_start, b.bucket)
    down = [(k, v) for k, v in moves.items() if v < 0]
    up = [(k, v) for k, v in moves.items() if v > 0]
    for i in range(0, len(down), UPSERT_CHUNK):
        chunk = down[i : i + UPSERT_CHUNK]
        conn.execute(
            update(leaderboard_buckets)
            .where(
                b.period == bindparam("p"),
                b.period_start == bindparam("s"),
                b.bucket == bindparam("k"),
            )
            .values(users=b.users - bindparam("n")),
            [{"p": p, "s": s, "k": k, "n": -v} for (p, s, k), v in chunk],
        )
        conn.execute(
            delete(leaderboard_buckets).where(key.in_([k for k, _ in chunk]), b.users == 0)
        )
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = make(leaderboard_buckets)
    for i in range(0, len(up), UPSERT_CHUNK):
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["period", "period_start", "bucket"],
                set_={"users": b.users + stmt.excluded.users},
            ),
            [
                {"period": p, "period_start": s, "bucket": k, "users": v}
                for (p, s, k), v in up[i : i + UPSERT_CHUNK]
            ],
        )


def _upsert(conn: Connection, scores: dict[Key, int]) -> None:
    if not scores:
        return
    rows = [
        {"period": p, "period_start": s, "user_id": u, "score": v}
        for (p, s, u), v in scores.items()
    ]
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = make(leaderboard_scores)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["period", "period_start", "user_id"],
            set_={"score": stmt.excluded.score},
        ),
        rows,
    )


def _on_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _insert_scores(conn: Connection, scores: Iterable[tuple[Key, int]]) -> int:
    """Insert ``scores`` (new rows) in chunks and their bucket counts; returns how many."""
    count = 0
    buckets: Counter[BucketKey] = Counter()
    items = iter(scores)
    while chunk := list(islice(items, UPSERT_CHUNK)):
        conn.execute(leaderboard_scores.insert(), [_row(key, value) for key, value in chunk])
        buckets.update((p, s, bucket_of(v)) for (p, s, _u), v in chunk if v > 0)
        count += len(chunk)
    _move_buckets(conn, dict(buckets))
    return count


def _copy_scores(conn: Connection, scores: Iterable[tuple[Key, int]]) -> int:
    """COPY ``scores`` into the (emptied) scores table on the transaction's own connection,
    in one stream: a rebuild writes hundreds of thousands of rows; returns how many."""
    raw = conn.connection.driver_connection
    assert raw is not None
    count = 0
    columns = "period, period_start, user_id, score"
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY leaderboard_scores ({columns}) FROM STDIN") as copy,
    ):
        for (period, start, user), score in scores:
            copy.write_row((period, start, user, str(score)))
            count += 1
    return count


def _row(key: Key, score: int) -> dict[str, Any]:
    return {"period": key[0], "period_start": key[1], "user_id": key[2], "score": score}


def expected_scores(book: Ledger, up_to_seq: int) -> dict[Key, int]:
    """The reference: every non-zero score, recomputed from the history lines in Python."""
    prefix, suffix = USER_ACCOUNTS
    lines = book.lines(
        account_prefix=prefix, account_suffix=suffix, kinds=EARNED_KINDS, up_to_seq=up_to_seq
    )
    scores: dict[Key, int] = defaultdict(int)
    for line in lines:
        user = user_of_account(line.account_id)
        if user is None:
            continue
        for period, start in windows_of(line.effective_at):
            scores[(period, start, user)] += line.amount
    return {k: v for k, v in scores.items() if v != 0}


_PG_REBUILD_BUCKETS = """
INSERT INTO leaderboard_buckets (period, period_start, bucket, users)
SELECT period, period_start, {bucket}, count(*)
FROM leaderboard_scores
WHERE score > 0
GROUP BY 1, 2, 3
"""
