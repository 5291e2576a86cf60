"""The leaderboard projection: scores per user and window, kept from the journal.

Score of a user in a window = the sum of the lines on ``user:{id}:azr`` whose kind counts
as earned (``reward.earned.*``, minus ``reward.adjusted.earned`` corrections) with an
``effective_at`` inside the window (all time, the ISO week, the calendar month; UTC).
``leaderboard_scores`` holds (period, period_start, user_id) -> score for every window any
earning fell in; ``leaderboard_buckets`` the ranked users per score bucket (``scores.py``).

The :class:`Projector` catches up from ``entries`` by ``seq`` with a stored checkpoint,
under a row lock on that checkpoint, so any number of processes may run it (on reads, and
from ``azora rewards rebuild-leaderboards``); scores and bucket counts move in the same
transaction. :func:`expected_scores` recomputes every score from ``entry_lines`` (an
independent path), and :func:`~.scores.expected_buckets` the buckets from those, so that
``azora rewards check-leaderboards`` can prove the projection equal to the ledger.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.store.engine import WRITE_TXN
from ledger.store.tables import entries, entry_lines, journal_head
from monetization.rewards.model import (
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

CATCH_UP_PAGE = 10_000
UPSERT_CHUNK = 1_000
STREAM_ROWS = 20_000


def _earned_filter(kind: Any) -> Any:
    return or_(kind.like(KIND_EARNED_PREFIX + "%"), kind == KIND_ADJUSTED_EARNED)


class Projector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lag(self) -> int:
        """Journal entries not yet projected (cheap: two one-row reads, no lock)."""
        with self.engine.connect() as conn:
            head = conn.execute(select(journal_head.c.seq).where(journal_head.c.id == 1)).scalar()
            done = conn.execute(
                select(leaderboard_checkpoint.c.seq).where(leaderboard_checkpoint.c.id == 1)
            ).scalar()
        return max(int(head or 0) - int(done or 0), 0)

    def catch_up(self, max_entries: int | None = None) -> int:
        """Project entries past the checkpoint (up to ``max_entries``); returns how many."""
        total = 0
        while max_entries is None or total < max_entries:
            page = CATCH_UP_PAGE if max_entries is None else min(CATCH_UP_PAGE, max_entries - total)
            done = self._catch_up_page(page)
            total += done
            if done < page:
                break
        return total

    def _catch_up_page(self, page: int) -> int:
        with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
            checkpoint = int(
                conn.execute(
                    select(leaderboard_checkpoint.c.seq)
                    .where(leaderboard_checkpoint.c.id == 1)
                    .with_for_update()
                ).scalar_one()
            )
            # Entries up to the head are committed with it (the writer moves both at once).
            head = int(
                conn.execute(select(journal_head.c.seq).where(journal_head.c.id == 1)).scalar_one()
            )
            target = min(head, checkpoint + page)
            if target <= checkpoint:
                return 0
            rows = conn.execute(
                select(entries.c.postings, entries.c.effective_at).where(
                    entries.c.seq > checkpoint,
                    entries.c.seq <= target,
                    entries.c.type == "posted",
                    _earned_filter(entries.c.kind),
                )
            )
            deltas: dict[Key, int] = defaultdict(int)
            for row in rows:
                for user, amount in _user_deltas(json.loads(row.postings)):
                    for period, start in windows_of(row.effective_at):
                        deltas[(period, start, user)] += amount
            apply_deltas(conn, deltas)
            conn.execute(
                update(leaderboard_checkpoint)
                .where(leaderboard_checkpoint.c.id == 1)
                .values(seq=target)
            )
            return target - checkpoint

    def rebuild(self) -> int:
        """Replace the projection with one computed from the journal; returns its rows."""
        options: dict[str, Any] = dict(WRITE_TXN)
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"  # one snapshot: head and lines agree
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            conn.execute(
                select(leaderboard_checkpoint.c.seq)
                .where(leaderboard_checkpoint.c.id == 1)
                .with_for_update()
            )
            head = int(
                conn.execute(select(journal_head.c.seq).where(journal_head.c.id == 1)).scalar_one()
            )
            conn.execute(delete(leaderboard_scores))
            conn.execute(delete(leaderboard_buckets))
            if conn.dialect.name == "postgresql":
                count = _pg_rebuild(conn, head)
            else:
                scores = expected_scores(conn, head)
                _insert_scores(conn, scores)
                _move_buckets(conn, dict(expected_buckets(scores)))
                count = len(scores)
            conn.execute(
                update(leaderboard_checkpoint)
                .where(leaderboard_checkpoint.c.id == 1)
                .values(seq=head)
            )
        return count

    def check(self) -> list[str]:
        """Differences between the projection and a recomputation from ``entry_lines``
        (empty when equal). Catches up first, then compares at the checkpoint."""
        self.catch_up()
        options: dict[str, Any] = {}
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            checkpoint = int(
                conn.execute(
                    select(leaderboard_checkpoint.c.seq).where(leaderboard_checkpoint.c.id == 1)
                ).scalar_one()
            )
            want = expected_scores(conn, checkpoint)
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


def _user_deltas(postings: Iterable[dict[str, str]]) -> Iterator[tuple[str, int]]:
    for p in postings:
        if p["asset"] != AZR_CODE:
            continue
        amount = int(p["amount"])
        if (user := user_of_account(p["destination"])) is not None:
            yield user, amount
        if (user := user_of_account(p["source"])) is not None:
            yield user, -amount


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


def _insert_scores(conn: Connection, scores: dict[Key, int]) -> None:
    items = list(scores.items())
    for i in range(0, len(items), UPSERT_CHUNK):
        conn.execute(
            leaderboard_scores.insert(),
            [_row(key, value) for key, value in items[i : i + UPSERT_CHUNK]],
        )


def _row(key: Key, score: int) -> dict[str, Any]:
    return {"period": key[0], "period_start": key[1], "user_id": key[2], "score": score}


def expected_scores(conn: Connection, up_to_seq: int) -> dict[Key, int]:
    """The reference: every non-zero score, recomputed from ``entry_lines`` in Python."""
    stmt = select(entry_lines.c.account_id, entry_lines.c.amount, entry_lines.c.effective_at).where(
        entry_lines.c.account_id.like("user:%:azr"),
        _earned_filter(entry_lines.c.kind),
        entry_lines.c.seq <= up_to_seq,
    )
    scores: dict[Key, int] = defaultdict(int)
    for row in conn.execute(stmt).yield_per(STREAM_ROWS):
        user = user_of_account(row.account_id)
        if user is None:
            continue
        for period, start in windows_of(row.effective_at):
            scores[(period, start, user)] += row.amount
    return {k: v for k, v in scores.items() if v != 0}


_PG_REBUILD = """
INSERT INTO leaderboard_scores (period, period_start, user_id, score)
SELECT :period, to_char({bucket}, 'YYYY-MM-DD'), substr(account_id, 6, length(account_id) - 9),
       sum(amount)
FROM entry_lines
WHERE account_id LIKE :accounts AND seq <= :head
  AND (kind LIKE :earned OR kind = :adjusted)
GROUP BY 2, 3
HAVING sum(amount) <> 0
"""
_PG_BUCKETS = {
    Window.ALL: "DATE '1970-01-01'",
    Window.WEEK: "date_trunc('week', effective_at AT TIME ZONE 'UTC')",
    Window.MONTH: "date_trunc('month', effective_at AT TIME ZONE 'UTC')",
}


_PG_REBUILD_BUCKETS = """
INSERT INTO leaderboard_buckets (period, period_start, bucket, users)
SELECT period, period_start, {bucket}, count(*)
FROM leaderboard_scores
WHERE score > 0
GROUP BY 1, 2, 3
"""


def _pg_rebuild(conn: Connection, head: int) -> int:
    """Set-based rebuild on PostgreSQL: three INSERT ... SELECT ... GROUP BY for the scores,
    one for the buckets."""
    count = 0
    for window, bucket in _PG_BUCKETS.items():
        result = conn.execute(
            text(_PG_REBUILD.format(bucket=bucket)),
            {
                "period": window.value,
                "head": head,
                "accounts": "user:%:azr",
                "earned": KIND_EARNED_PREFIX + "%",
                "adjusted": KIND_ADJUSTED_EARNED,
            },
        )
        count += result.rowcount
    conn.execute(text(_PG_REBUILD_BUCKETS.format(bucket=pg_bucket_sql("score"))))
    return count
