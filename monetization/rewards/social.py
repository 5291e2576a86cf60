"""Classes and friendships: who a ``class:{id}`` or ``friends:{user}`` leaderboard ranks.

A friendship counts once both sides asked (two rows, one per direction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, select
from sqlalchemy.exc import IntegrityError

from ledger import WRITE_TXN
from ledger.errors import InvalidRequest
from monetization.ids import check_user_id
from monetization.rewards.model import check_class_id
from monetization.rewards.tables import class_members, friend_requests

PAGE_MAX = 500


@dataclass(frozen=True, slots=True)
class Friendship:
    user_id: str
    friend_id: str
    mutual: bool  # False: asked, waiting for the other side


class Social:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def join_class(self, class_id: str, user_id: str) -> bool:
        """Add a member (idempotent); True if new."""
        check_class_id(class_id)
        check_user_id(user_id)
        try:
            with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
                conn.execute(
                    class_members.insert().values(
                        class_id=class_id, user_id=user_id, joined_at=self.clock()
                    )
                )
        except IntegrityError:
            return False
        return True

    def leave_class(self, class_id: str, user_id: str) -> None:
        with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
            conn.execute(
                class_members.delete().where(
                    class_members.c.class_id == class_id, class_members.c.user_id == user_id
                )
            )

    def members(self, class_id: str, *, after: str | None = None, limit: int = 100) -> list[str]:
        check_class_id(class_id)
        stmt = select(class_members.c.user_id).where(class_members.c.class_id == class_id)
        if after is not None:
            stmt = stmt.where(class_members.c.user_id > after)
        stmt = stmt.order_by(class_members.c.user_id).limit(max(1, min(limit, PAGE_MAX)))
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).scalars())

    def classes_of(self, user_id: str) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(class_members.c.class_id)
                    .where(class_members.c.user_id == user_id)
                    .limit(PAGE_MAX)
                ).scalars()
            )

    def befriend(self, user_id: str, friend_id: str) -> Friendship:
        """``user_id`` asks ``friend_id`` (idempotent); mutual once both have asked."""
        check_user_id(user_id)
        check_user_id(friend_id)
        if user_id == friend_id:
            raise InvalidRequest("a user cannot befriend themself")
        try:
            with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
                conn.execute(
                    friend_requests.insert().values(
                        user_id=user_id, friend_id=friend_id, created_at=self.clock()
                    )
                )
        except IntegrityError:
            pass  # asked before
        return Friendship(user_id, friend_id, self._asked(friend_id, user_id))

    def unfriend(self, user_id: str, friend_id: str) -> None:
        with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
            conn.execute(
                friend_requests.delete().where(
                    friend_requests.c.user_id == user_id, friend_requests.c.friend_id == friend_id
                )
            )

    def friends(self, user_id: str) -> list[Friendship]:
        """Everyone ``user_id`` asked, and whether they asked back."""
        check_user_id(user_id)
        theirs = friend_requests.alias("theirs")
        stmt = (
            select(friend_requests.c.friend_id, theirs.c.user_id.label("back"))
            .outerjoin(
                theirs,
                and_(
                    theirs.c.user_id == friend_requests.c.friend_id,
                    theirs.c.friend_id == friend_requests.c.user_id,
                ),
            )
            .where(friend_requests.c.user_id == user_id)
            .order_by(friend_requests.c.friend_id)
            .limit(PAGE_MAX)
        )
        with self.engine.connect() as conn:
            return [
                Friendship(user_id, r.friend_id, r.back is not None) for r in conn.execute(stmt)
            ]

    def _asked(self, user_id: str, friend_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(friend_requests.c.user_id).where(
                        friend_requests.c.user_id == user_id,
                        friend_requests.c.friend_id == friend_id,
                    )
                ).first()
                is not None
            )
