"""Organizations, their members and roles, and seats.

Every member takes one seat; an organization may have as many members as its active
license has seats (:data:`~monetization.licensing.model.UNLICENSED_SEATS` without one).
A new member is admitted under the organization's row lock, so twenty concurrent adds
against five seats admit exactly the free seats, whatever the number of processes. An
organization always keeps an owner: removing or demoting the last one is
:class:`LastOwner`. A license with fewer seats than members keeps them all, and admits no
one new until enough have left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger import InvalidRequest, NotFound
from monetization.licensing.checks import check_org_id, check_text, check_user_id
from monetization.licensing.errors import LastOwner, OrgExists, OrgNotFound, SeatLimitReached
from monetization.licensing.licenses import Licenses
from monetization.licensing.model import UNLICENSED_SEATS, Member, Org, Role, Seats
from monetization.licensing.store import begin_write, lock_org, page_limit
from monetization.licensing.tables import licensing_members as M
from monetization.licensing.tables import licensing_orgs as O

NAME_MAX_CHARS = 200


def _member(row: Any) -> Member:
    return Member(row.org_id, row.user_id, Role(row.role), row.joined_at)


def check_role(value: object) -> Role:
    if value not in {r.value for r in Role}:
        raise InvalidRequest("role must be owner, admin or member")
    return Role(str(value))


class Organizations:
    def __init__(self, engine: Engine, licenses: Licenses, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.licenses = licenses
        self.clock = clock

    # --- organizations -------------------------------------------------------------------

    def create(self, org_id: str, name: str, owner_user_id: str) -> tuple[Org, bool]:
        """A new organization with its owner (True); the same one again answers it (False);
        the id taken with another name or owner is :class:`OrgExists`."""
        check_org_id(org_id)
        check_text(name, "name", NAME_MAX_CHARS)
        check_user_id(owner_user_id)
        now = self.clock()
        try:
            with begin_write(self.engine) as conn:
                conn.execute(insert(O).values(id=org_id, name=name, created_at=now))
                conn.execute(
                    insert(M).values(
                        org_id=org_id, user_id=owner_user_id, role=Role.OWNER.value, joined_at=now
                    )
                )
        except IntegrityError:
            existing = self.get(org_id)
            if existing.name != name or self.role_of(org_id, owner_user_id) is not Role.OWNER:
                raise OrgExists(
                    f"organization {org_id!r} exists with another name or owner"
                ) from None
            return existing, False
        return self.get(org_id), True

    def get(self, org_id: str) -> Org:
        with self.engine.connect() as conn:
            row = conn.execute(select(O).where(O.c.id == org_id)).first()
            if row is None:
                raise OrgNotFound(f"organization {org_id!r} does not exist")
            seats = self._seats(conn, org_id)
        return Org(row.id, row.name, row.created_at, seats)

    def listed(self, *, user_id: str | None = None, after: str | None = None,
             limit: int = 100) -> list[Org]:  # fmt: skip
        """Every organization (or those ``user_id`` belongs to), by id."""
        stmt = select(O.c.id)
        if user_id is not None:
            stmt = stmt.join(M, M.c.org_id == O.c.id).where(M.c.user_id == user_id)
        if after is not None:
            stmt = stmt.where(O.c.id > after)
        with self.engine.connect() as conn:
            ids = list(conn.execute(stmt.order_by(O.c.id).limit(page_limit(limit))).scalars())
        return [self.get(org_id) for org_id in ids]

    def _seats(self, conn: Connection, org_id: str) -> Seats:
        used = conn.execute(select(func.count()).where(M.c.org_id == org_id)).scalar_one()
        active = self.licenses.active(conn, org_id, self.clock())
        return Seats(int(used), active.seats if active is not None else UNLICENSED_SEATS)

    # --- members ---------------------------------------------------------------------------

    def role_of(self, org_id: str, user_id: str) -> Role | None:
        with self.engine.connect() as conn:
            role = conn.execute(
                select(M.c.role).where(and_(M.c.org_id == org_id, M.c.user_id == user_id))
            ).scalar()
        return None if role is None else Role(role)

    def add_member(self, org_id: str, user_id: str, role: Role | str) -> tuple[Member, bool]:
        """Admit ``user_id`` with ``role`` (True), or change a member's role (False).
        Raises :class:`SeatLimitReached` when every seat is taken."""
        check_user_id(user_id)
        wanted = check_role(role)
        with begin_write(self.engine) as conn:
            lock_org(conn, org_id)
            row = conn.execute(
                select(M).where(and_(M.c.org_id == org_id, M.c.user_id == user_id))
            ).first()
            if row is not None:
                if row.role != wanted.value:
                    if row.role == Role.OWNER.value:
                        self._keep_an_owner(conn, org_id)
                    conn.execute(
                        update(M)
                        .where(and_(M.c.org_id == org_id, M.c.user_id == user_id))
                        .values(role=wanted.value)
                    )
                return Member(org_id, user_id, wanted, row.joined_at), False
            seats = self._seats(conn, org_id)
            if seats.used >= seats.limit:
                raise SeatLimitReached(
                    f"organization {org_id!r} uses all {seats.limit} seats of its license"
                )
            now = self.clock()
            conn.execute(
                insert(M).values(org_id=org_id, user_id=user_id, role=wanted.value, joined_at=now)
            )
        return Member(org_id, user_id, wanted, now), True

    def remove_member(self, org_id: str, user_id: str) -> None:
        with begin_write(self.engine) as conn:
            lock_org(conn, org_id)
            where = and_(M.c.org_id == org_id, M.c.user_id == user_id)
            role = conn.execute(select(M.c.role).where(where)).scalar()
            if role is None:
                raise NotFound(f"{user_id!r} is not a member of {org_id!r}")
            if role == Role.OWNER.value:
                self._keep_an_owner(conn, org_id)
            conn.execute(delete(M).where(where))

    def _keep_an_owner(self, conn: Connection, org_id: str) -> None:
        owners = conn.execute(
            select(func.count()).where(and_(M.c.org_id == org_id, M.c.role == Role.OWNER.value))
        ).scalar_one()
        if owners <= 1:
            raise LastOwner(f"organization {org_id!r} must keep at least one owner")

    def members(self, org_id: str, *, after: str | None = None, limit: int = 100) -> list[Member]:
        stmt = select(M).where(M.c.org_id == org_id)
        if after is not None:
            stmt = stmt.where(M.c.user_id > after)
        with self.engine.connect() as conn:
            if conn.execute(select(O.c.id).where(O.c.id == org_id)).first() is None:
                raise OrgNotFound(f"organization {org_id!r} does not exist")
            rows = conn.execute(stmt.order_by(M.c.user_id).limit(page_limit(limit))).all()
        return [_member(r) for r in rows]
