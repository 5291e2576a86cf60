"""What every licensing store shares: write transactions, the organization lock, months."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from ledger import WRITE_TXN, InvalidRequest
from monetization.licensing.errors import OrgNotFound
from monetization.licensing.tables import licensing_orgs

PAGE_MAX = 500
MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
YEAR_MIN, YEAR_MAX = 1970, 9998  # the month after 9999-12 has no year


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (SQLite: the write lock taken at BEGIN, so writers queue)."""
    with engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
        yield conn


def lock_org(conn: Connection, org_id: str) -> str:
    """Take the organization's row lock (PostgreSQL; SQLite's write transaction already
    serializes writers) and return its name. Seats and usage totals are decided under it,
    so concurrent requests on one organization are applied one after another."""
    stmt = select(licensing_orgs.c.name).where(licensing_orgs.c.id == org_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    name = conn.execute(stmt).scalar()
    if name is None:
        raise OrgNotFound(f"organization {org_id!r} does not exist")
    return str(name)


def require_org(conn: Connection, org_id: str) -> None:
    found = conn.execute(select(licensing_orgs.c.id).where(licensing_orgs.c.id == org_id)).scalar()
    if found is None:
        raise OrgNotFound(f"organization {org_id!r} does not exist")


def page_limit(limit: int) -> int:
    return max(1, min(limit, PAGE_MAX))


def month_key(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def parse_month(text: object) -> tuple[int, int]:
    """(year, month) of ``YYYY-MM`` within 1970-01..9998-12."""
    match = MONTH_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None or not YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
        raise InvalidRequest(f"month must be YYYY-MM within {YEAR_MIN}-01..{YEAR_MAX}-12")
    return int(match.group(1)), int(match.group(2))
