"""Custom domains: ownership proved by a DNS TXT record.

Adding a domain answers ``txt_name`` (``_azora-verification.<domain>``) and ``txt_value``
(``azora-domain-verification=<token>``, the token random per organization and domain);
verifying looks the TXT record up through the :class:`~monetization.licensing.dns.TxtResolver`
port. A domain is verified for one organization at most: another one's claim is
:class:`DomainTaken`, even when both publish their token at once (a unique index).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger import NotFound
from monetization.licensing.checks import check_domain
from monetization.licensing.dns import TxtResolver
from monetization.licensing.errors import DomainNotVerified, DomainTaken
from monetization.licensing.store import begin_write, lock_org, page_limit, require_org
from monetization.licensing.tables import licensing_domains as D

TXT_PREFIX = "_azora-verification."
TXT_VALUE_PREFIX = "azora-domain-verification="
TOKEN_BYTES = 24
PENDING, VERIFIED = "pending", "verified"


@dataclass(frozen=True, slots=True)
class Domain:
    org_id: str
    domain: str
    status: str
    token: str
    created_at: datetime
    checked_at: datetime | None
    verified_at: datetime | None

    @property
    def txt_name(self) -> str:
        return TXT_PREFIX + self.domain

    @property
    def txt_value(self) -> str:
        return TXT_VALUE_PREFIX + self.token


def _domain(row: Any) -> Domain:
    return Domain(row.org_id, row.domain, row.status, row.token, row.created_at,
                  row.checked_at, row.verified_at)  # fmt: skip


class Domains:
    def __init__(
        self, engine: Engine, resolver: Callable[[], TxtResolver], clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self._resolver = resolver
        self.clock = clock

    def add(self, org_id: str, domain: str) -> tuple[Domain, bool]:
        """The domain, pending with its TXT record to publish (True), or as it is (False)."""
        check_domain(domain)
        with begin_write(self.engine) as conn:
            lock_org(conn, org_id)
            taken = conn.execute(
                select(D.c.org_id).where(and_(D.c.domain == domain, D.c.status == VERIFIED))
            ).scalar()
            if taken is not None and taken != org_id:
                raise DomainTaken(f"{domain} is verified by another organization")
            row = conn.execute(
                select(D).where(and_(D.c.org_id == org_id, D.c.domain == domain))
            ).first()
            if row is not None:
                return _domain(row), False
            conn.execute(
                insert(D).values(
                    org_id=org_id, domain=domain, status=PENDING,
                    token=secrets.token_urlsafe(TOKEN_BYTES), created_at=self.clock(),
                )
            )  # fmt: skip
            row = conn.execute(
                select(D).where(and_(D.c.org_id == org_id, D.c.domain == domain))
            ).one()
        return _domain(row), True

    def get(self, org_id: str, domain: str) -> Domain:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(D).where(and_(D.c.org_id == org_id, D.c.domain == domain))
            ).first()
        if row is None:
            raise NotFound(f"domain {domain!r} is not one of {org_id!r}")
        return _domain(row)

    def of_org(self, org_id: str, *, after: str | None = None, limit: int = 100) -> list[Domain]:
        stmt = select(D).where(D.c.org_id == org_id)
        if after is not None:
            stmt = stmt.where(D.c.domain > after)
        with self.engine.connect() as conn:
            require_org(conn, org_id)
            rows = conn.execute(stmt.order_by(D.c.domain).limit(page_limit(limit))).all()
        return [_domain(r) for r in rows]

    def verify(self, org_id: str, domain: str) -> Domain:
        """Look the TXT record up: verified when it holds the token; otherwise the domain
        stays pending and :class:`DomainNotVerified` says what to publish."""
        found = self.get(org_id, domain)
        if found.status == VERIFIED:
            return found
        published = self._resolver().txt(found.txt_name)  # outside any transaction
        now = self.clock()
        where = and_(D.c.org_id == org_id, D.c.domain == domain)
        if found.txt_value not in published:
            with begin_write(self.engine) as conn:
                conn.execute(update(D).where(where).values(checked_at=now))
            raise DomainNotVerified(
                f"no TXT record {found.txt_name} holding {found.txt_value!r} was found; "
                "publish it and verify again (DNS changes can take a while to show)"
            )
        try:
            with begin_write(self.engine) as conn:
                conn.execute(
                    update(D).where(where).values(status=VERIFIED, checked_at=now, verified_at=now)
                )
        except IntegrityError:
            raise DomainTaken(f"{domain} is verified by another organization") from None
        return self.get(org_id, domain)
