"""Leaderboards: a projection of the journal, ranked by tokens earned in a window.

Score of a user in a window = the sum of the lines on ``user:{id}:azr`` whose kind counts
as earned (``reward.earned.*``, minus ``reward.adjusted.earned`` corrections) with an
``effective_at`` inside the window (all time, the ISO week, the calendar month; UTC).
Ranking: score descending, then user id ascending; users with a score <= 0 are not ranked.

``leaderboard_scores`` holds (period, period_start, user_id) -> score for every window any
earning fell in. ``leaderboard_buckets`` holds (period, period_start, bucket) -> how many
ranked users (score > 0) have a score in that bucket, where :func:`bucket_of` is a monotone
map of a score to its first :data:`BUCKET_DIGITS` significant digits and its length. A
caller's rank is then exact and cheap: 1 + the users of every bucket above theirs (a sum
over at most a few hundred rows) + the users inside their own bucket who rank before them
(a narrow index range). Counting every row above the caller instead costs O(rank).

The :class:`Projector` catches up from ``entries`` by ``seq`` with a stored checkpoint,
under a row lock on that checkpoint, so any number of processes may run it (on reads, and
from ``azora rewards rebuild-leaderboards``); scores and bucket counts move in the same
transaction. :func:`expected_scores` recomputes every score from ``entry_lines`` (an
independent path), and :func:`expected_buckets` the buckets from those, so that ``azora
rewards check-leaderboards`` can prove the projection equal to the ledger.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.errors import InvalidRequest
from ledger.store.engine import WRITE_TXN
from ledger.store.tables import entries, entry_lines, journal_head
from monetization.ids import check_user_id
from monetization.rewards.model import (
    AZR_CODE,
    KIND_ADJUSTED_EARNED,
    KIND_EARNED_PREFIX,
    Board,
    Ranked,
    Window,
    check_class_id,
    rank_scores,
    user_of_account,
    window_start,
)
from monetization.rewards.tables import (
    class_members,
    friend_requests,
    leaderboard_buckets,
    leaderboard_checkpoint,
    leaderboard_scores,
)

PAGE_MAX = 100
SCOPE_MEMBERS_MAX = 10_000  # a class or friends board ranks at most this many users
CATCH_UP_PAGE = 10_000
UPSERT_CHUNK = 1_000
STREAM_ROWS = 20_000

# A bucket is a score's decimal length and its first BUCKET_DIGITS digits: 900 buckets per
# power of ten, each 0.1-1 % wide. Fewer digits: fewer bucket rows to sum, more users to
# count inside one. (Stored data depend on it: change it only with a rebuild.)
BUCKET_DIGITS = 3

Key = tuple[str, str, str]  # (period, period_start ISO date, user_id)
BucketKey = tuple[str, str, int]  # (period, period_start ISO date, bucket)
Clock = Callable[[], datetime]


def bucket_of(score: int) -> int:
    """The bucket of a ranked score (> 0): monotone, ``a < b`` implies
    ``bucket_of(a) <= bucket_of(b)``; ``len(str(score)) * 10**D + first D digits`` (padded
    with zeros when the score is shorter than D digits)."""
    assert score > 0, score
    digits = str(score)
    lead = int(digits[:BUCKET_DIGITS].ljust(BUCKET_DIGITS, "0"))
    return len(digits) * _pow10(BUCKET_DIGITS) + lead


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """``[low, high)``: exactly the scores whose bucket is ``bucket``."""
    length, lead = divmod(bucket, _pow10(BUCKET_DIGITS))
    if length >= BUCKET_DIGITS:
        unit = _pow10(length - BUCKET_DIGITS)
        return lead * unit, (lead + 1) * unit
    prefix = lead // _pow10(BUCKET_DIGITS - length)  # a short score is its own bucket
    return prefix, prefix + 1


def _pow10(n: int) -> int:
    return int(10**n)


def windows_of(at: datetime) -> list[tuple[str, str]]:
    """The (period, period_start) of every window an instant counts in."""
    return [(w.value, window_start(w, at).isoformat()) for w in Window]


def _earned_filter(kind: Any) -> Any:
    return or_(kind.like(KIND_EARNED_PREFIX + "%"), kind == KIND_ADJUSTED_EARNED)


# --- the projector -----------------------------------------------------------------------


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


def expected_buckets(scores: dict[Key, int]) -> Counter[BucketKey]:
    """The reference bucket counts of a set of scores: ranked users per bucket."""
    return Counter((p, s, bucket_of(v)) for (p, s, _u), v in scores.items() if v > 0)


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


def pg_bucket_sql(score: str) -> str:
    """:func:`bucket_of` as a PostgreSQL expression over a NUMERIC(78,0) ``score`` > 0."""
    d = BUCKET_DIGITS
    return f"length({score}::text) * {_pow10(d)} + rpad(left({score}::text, {d}), {d}, '0')::int"


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


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str  # global | class | friends
    id: str | None = None

    @classmethod
    def parse(cls, text_: str) -> Scope:
        if text_ == "global":
            return cls("global")
        kind, _, ident = text_.partition(":")
        if kind == "class":
            return cls("class", check_class_id(ident))
        if kind == "friends":
            return cls("friends", check_user_id(ident))
        raise InvalidRequest(f"scope {text_!r} must be global, class:{{id}} or friends:{{user}}")

    def __str__(self) -> str:
        return self.kind if self.id is None else f"{self.kind}:{self.id}"


def friends_of(user_id: str) -> Select[Any]:
    """The user and everyone with a friendship both sides asked for."""
    mine, theirs = friend_requests.alias("mine"), friend_requests.alias("theirs")
    mutual = (
        select(mine.c.friend_id.label("user_id"))
        .join(
            theirs,
            and_(theirs.c.user_id == mine.c.friend_id, theirs.c.friend_id == mine.c.user_id),
        )
        .where(mine.c.user_id == user_id)
    )
    return select(union(mutual, select(literal(user_id).label("user_id"))).subquery().c.user_id)


class Leaderboards:
    def __init__(self, engine: Engine, clock: Clock, *, read_catch_up_max: int = 50_000) -> None:
        self.engine = engine
        self.clock = clock
        self.projector = Projector(engine)
        self.read_catch_up_max = read_catch_up_max

    def board(
        self,
        scope: str,
        window: Window | str = Window.ALL,
        *,
        me: str | None = None,
        limit: int = PAGE_MAX,
        at: datetime | None = None,
    ) -> Board:
        """The top ``limit`` of ``scope`` in the current ``window`` and ``me``'s own place
        (None when ``me`` has earned nothing there, or is not in the scope)."""
        parsed = Scope.parse(scope)
        window = Window(window)
        if not 1 <= limit <= PAGE_MAX:
            raise InvalidRequest(f"limit must be within 1..{PAGE_MAX}")
        if me is not None:
            check_user_id(me)
        if self.projector.lag() > 0:
            self.projector.catch_up(self.read_catch_up_max)
        start = window_start(window, (at or self.clock()).astimezone(UTC))
        s = leaderboard_scores.c
        where = [s.period == window.value, s.period_start == start.isoformat(), s.score > 0]
        members = self._members(parsed)
        if members is not None:
            # Small scopes: fetch the members' scores by key and rank them here. (Filtering
            # the global index by membership may walk all of it to find a class's 100 rows.)
            with self.engine.connect() as conn:
                ids = list(conn.execute(members.limit(SCOPE_MEMBERS_MAX)).scalars())
                # A literal list: the plan is one primary-key probe per member.
                rows = conn.execute(
                    select(s.user_id, s.score).where(*where, s.user_id.in_(ids))
                ).all()
            ranked = rank_scores({r.user_id: r.score for r in rows})
            mine = next((r for r in ranked if r.user_id == me), None)
            return Board(str(parsed), window, start, tuple(ranked[:limit]), mine, me)
        with self.engine.connect() as conn:
            top = conn.execute(
                select(s.user_id, s.score)
                .where(*where)
                .order_by(s.score.desc(), s.user_id.asc())
                .limit(limit)
            ).all()
            entries_ = tuple(Ranked(i + 1, r.user_id, r.score) for i, r in enumerate(top))
            mine = self._rank_of(conn, window, start.isoformat(), me, entries_)
        return Board(str(parsed), window, start, entries_, mine, me)

    def _members(self, scope: Scope) -> Select[Any] | None:
        if scope.kind == "class":
            return select(class_members.c.user_id).where(class_members.c.class_id == scope.id)
        if scope.kind == "friends":
            assert scope.id is not None
            return friends_of(scope.id)
        return None

    def _rank_of(
        self,
        conn: Connection,
        window: Window,
        start: str,
        me: str | None,
        page: tuple[Ranked, ...],
    ) -> Ranked | None:
        if me is None:
            return None
        for ranked in page:
            if ranked.user_id == me:
                return ranked
        s = leaderboard_scores.c
        where = [s.period == window.value, s.period_start == start, s.score > 0]
        score = conn.execute(select(s.score).where(*where, s.user_id == me)).scalar()
        if score is None:
            return None
        score = int(score)
        bucket = bucket_of(score)
        _low, high = bucket_bounds(bucket)
        b = leaderboard_buckets.c
        # One statement (one snapshot): users in the buckets above + those inside the
        # caller's bucket with a higher score + those tied with a smaller user id.
        above_buckets = (
            select(func.coalesce(func.sum(b.users), 0))
            .where(b.period == window.value, b.period_start == start, b.bucket > bucket)
            .scalar_subquery()
        )
        above_inside = (
            select(func.count())
            .select_from(leaderboard_scores)
            .where(*where, s.score > score, s.score < high)
            .scalar_subquery()
        )
        tied_before = (
            select(func.count())
            .select_from(leaderboard_scores)
            .where(*where, s.score == score, s.user_id < me)
            .scalar_subquery()
        )
        counts = conn.execute(select(above_buckets, above_inside, tied_before)).one()
        return Ranked(int(counts[0]) + int(counts[1]) + int(counts[2]) + 1, me, score)
