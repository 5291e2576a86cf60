"""Leaderboards: users ranked by tokens earned in a window, read from the projection.

Ranking: score descending, then user id ascending; users with a score <= 0 are not ranked.
The scores are the projection of the journal kept by ``projection.py``; a read first
catches it up (bounded), then ranks: the global board from the score index and the
caller's rank from the score buckets (``scores.py``), a class or a friends board by
fetching its members' scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, func, literal, select, union

from ledger.errors import InvalidRequest
from monetization.ids import check_user_id
from monetization.rewards.model import (
    Board,
    Ranked,
    Window,
    check_class_id,
    rank_scores,
    window_start,
)
from monetization.rewards.projection import Projector
from monetization.rewards.scores import bucket_bounds, bucket_of
from monetization.rewards.tables import (
    class_members,
    friend_requests,
    leaderboard_buckets,
    leaderboard_scores,
)

PAGE_MAX = 100
SCOPE_MEMBERS_MAX = 10_000  # a class or friends board ranks at most this many users

Clock = Callable[[], datetime]


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
