"""Identifiers the domains share, each pattern defined once.

User ids come from the platform (the wallet's user tokens carry them); slugs name what
admins and services create (catalog items, classes, courses...). The ledger's own ids
(accounts, kinds, idempotency keys) are in :mod:`ledger.model`.
"""

from __future__ import annotations

import re

from ledger.errors import InvalidRequest

USER_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        raise InvalidRequest(f"user id {user_id!r:.80} must match ^{USER_ID_RE.pattern}$")
    return user_id


def check_slug(value: object, what: str) -> str:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        raise InvalidRequest(f"{what} {value!r:.80} must match ^{SLUG_RE.pattern}$")
    return value
