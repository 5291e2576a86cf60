"""Leaderboards: a projection of the journal, ranked by tokens earned in a window.

Score of a user in a window = the sum of the lines on ``user:{id}:azr`` whose kind counts
as earned (``reward.earned.*``, minus ``reward.adjusted.earned`` corrections) with an
``effective_at`` inside the window (all time, the ISO week, the calendar month; UTC).
Ranking: score descending, then user id ascending; users with a score <= 0 are not ranked.

``leaderboard_scores`` holds (period, period_start, user_id) -> score for every window any
earning fell in. The :class:`Projector` catches up from ``entries`` by ``seq`` with a stored
checkpoint, under a row lock on that checkpoint, so any number of processes may run it
(on reads, and from ``azora rewards rebuild-leaderboards``). :func:`expected_scores`
recomputes every score from ``entry_lines`` (an independent path) so that
``azora rewards check-leaderboards`` can prove the projection equal to the ledger.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
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
from monetization.rewards.model import (
    AZR_CODE,
    KIND_ADJUSTED_EARNED,
    KIND_EARNED_PREFIX,
    Board,
    Ranked,
    Window,
    check_class_id,
    check_user_id,
    rank_scores,
    user_of_account,
    window_start,
)
from monetization.rewards.tables import (
    class_members,
    friend_requests,
    leaderboard_checkpoint,
    leaderboard_scores,
)

PAGE_MAX = 100
SCOPE_MEMBERS_MAX = 10_000  # a class or friends board ranks at most this many users
CATCH_UP_PAGE = 10_000
UPSERT_CHUNK = 1_000
STREAM_ROWS = 20_000

Key = tuple[str, str, str]  # (period, period_start ISO date, user_id)
Clock = Callable[[], datetime]


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
            if conn.dialect.name == "postgresql":
                count = _pg_rebuild(conn, head)
            else:
                scores = expected_scores(conn, head)
                _insert_scores(conn, scores)
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
        problems = []
        for key in sorted(set(want) | set(have)):
            if want.get(key, 0) != have.get(key, 0):
                problems.append(
                    f"{key[0]} {key[1]} user {key[2]}: projection {have.get(key, 0)}, "
                    f"ledger {want.get(key, 0)}"
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
        _upsert(conn, {k: current.get(k, 0) + deltas[k] for k in chunk})


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


def _pg_rebuild(conn: Connection, head: int) -> int:
    """Set-based rebuild on PostgreSQL: three INSERT ... SELECT ... GROUP BY."""
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
            mine = self._rank_of(conn, where, me, entries_)
        return Board(str(parsed), window, start, entries_, mine, me)

    def _members(self, scope: Scope) -> Select[Any] | None:
        if scope.kind == "class":
            return select(class_members.c.user_id).where(class_members.c.class_id == scope.id)
        if scope.kind == "friends":
            assert scope.id is not None
            return friends_of(scope.id)
        return None

    def _rank_of(
        self, conn: Connection, where: list[Any], me: str | None, page: tuple[Ranked, ...]
    ) -> Ranked | None:
        if me is None:
            return None
        for ranked in page:
            if ranked.user_id == me:
                return ranked
        s = leaderboard_scores.c
        score = conn.execute(select(s.score).where(*where, s.user_id == me)).scalar()
        if score is None:
            return None
        above = conn.execute(
            select(func.count()).select_from(leaderboard_scores).where(*where, s.score > score)
        ).scalar_one()
        tied_before = conn.execute(
            select(func.count())
            .select_from(leaderboard_scores)
            .where(*where, s.score == score, s.user_id < me)
        ).scalar_one()
        return Ranked(int(above) + int(tied_before) + 1, me, int(score))
