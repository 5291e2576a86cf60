"""White-label branding: the name, logo and colours an organization's users see.

Validated: a display name of 1-100 characters (no control characters), an https logo URL,
``#RRGGBB`` colours (stored upper-case), a support e-mail address. An organization that
never set its branding gets its own name and the platform's colours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from monetization.licensing.checks import check_color, check_email, check_https_url, check_text
from monetization.licensing.errors import OrgNotFound
from monetization.licensing.store import begin_write, lock_org
from monetization.licensing.tables import licensing_branding as B
from monetization.licensing.tables import licensing_orgs

DISPLAY_NAME_MAX_CHARS = 100
DEFAULT_PRIMARY = "#1F6FEB"


@dataclass(frozen=True, slots=True)
class Branding:
    display_name: str
    primary_color: str
    logo_url: str | None = None
    accent_color: str | None = None
    support_email: str | None = None
    updated_at: datetime | None = None  # None: never set (the defaults)


def check_branding(b: Branding) -> Branding:
    return Branding(
        display_name=check_text(b.display_name, "display_name", DISPLAY_NAME_MAX_CHARS),
        primary_color=check_color(b.primary_color, "primary_color"),
        logo_url=None if b.logo_url is None else check_https_url(b.logo_url, "logo_url"),
        accent_color=(
            None if b.accent_color is None else check_color(b.accent_color, "accent_color")
        ),
        support_email=(
            None if b.support_email is None else check_email(b.support_email, "support_email")
        ),
    )


class Brandings:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def get(self, org_id: str) -> Branding:
        with self.engine.connect() as conn:
            row = conn.execute(select(B).where(B.c.org_id == org_id)).first()
            if row is None:
                name = conn.execute(
                    select(licensing_orgs.c.name).where(licensing_orgs.c.id == org_id)
                ).scalar()
        if row is not None:
            return Branding(row.display_name, row.primary_color, row.logo_url,
                            row.accent_color, row.support_email, row.updated_at)  # fmt: skip
        if name is None:
            raise OrgNotFound(f"organization {org_id!r} does not exist")
        return Branding(str(name)[:DISPLAY_NAME_MAX_CHARS], DEFAULT_PRIMARY)

    def put(self, org_id: str, branding: Branding) -> Branding:
        checked = check_branding(branding)
        now = self.clock()
        values = {
            "display_name": checked.display_name, "primary_color": checked.primary_color,
            "logo_url": checked.logo_url, "accent_color": checked.accent_color,
            "support_email": checked.support_email, "updated_at": now,
        }  # fmt: skip
        with begin_write(self.engine) as conn:
            lock_org(conn, org_id)
            done = conn.execute(update(B).where(B.c.org_id == org_id).values(**values))
            if done.rowcount == 0:  # the first time (under the lock: no concurrent insert)
                conn.execute(B.insert().values(org_id=org_id, **values))
        return self.get(org_id)
