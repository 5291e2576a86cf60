"""Where API keys live: the ``api_keys`` table (migration ``0002_api_auth``).

Keys are revoked by setting ``revoked_at``, never deleted, so an entry's ``principal``
(``key:<id>``) always names a key that can be looked up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Engine, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.security import NewKey, Scope, new_api_key, parse_scopes, scopes_text
from ledger import UTCDateTime

BOOTSTRAP_KEY_ID = "bootstrap"
LIST_MAX = 500
CACHE_MAX = 10_000  # keys remembered per process

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None
    secret_hash: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        scopes=parse_scopes(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        secret_hash=row.secret_hash,
    )


class KeyStore:
    """CRUD of API keys plus a short-lived cache of verified keys for the hot path."""

    def __init__(self, engine: Engine, cache_ttl_s: float = 0.0) -> None:
        self.engine = engine
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def create(
        self, scopes: frozenset[Scope], name: str = "", *, key_id: str | None = None
    ) -> tuple[ApiKey, str]:
        """Store a new key; returns it and the plaintext (shown once, never stored)."""
        if not scopes:
            raise ValueError("a key needs at least one scope")
        new: NewKey = new_api_key(key_id)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=new.id,
                    name=name[:128],
                    secret_hash=new.secret_hash,
                    scopes=scopes_text(scopes),
                    created_at=now,
                )
            )
        return ApiKey(new.id, name[:128], scopes, now, None, new.secret_hash), new.plaintext

    def get(self, key_id: str) -> ApiKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else _from_row(row)

    def cached(self, key_id: str) -> ApiKey | None:
        """An active key read from the database less than the TTL ago, without reading it.

        The TTL counts from that read, never from a later use: a key revoked in another
        process stops working here within the TTL however often it is presented.
        """
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is None or time.monotonic() - hit[1] > self.cache_ttl_s:
            return None
        return hit[0]

    def fetch(self, key_id: str) -> ApiKey | None:
        """The key read from the database now (and cached, if active, from this instant)."""
        read_at = time.monotonic()
        key = self.get(key_id)
        if key is not None and key.active and self.cache_ttl_s > 0:
            with self._lock:
                if len(self._cache) >= CACHE_MAX:
                    self._cache.clear()
                self._cache[key.id] = (key, read_at)
        return key

    def list(self, limit: int = LIST_MAX) -> list[ApiKey]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id).limit(limit)
            )
            return [_from_row(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke ``key_id`` (a repeat keeps the first revocation time); None if unknown."""
        with self._lock:
            self._cache.pop(key_id, None)
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return self.get(key_id)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(api_keys)).scalar_one())

    def bootstrap_admin(self) -> str | None:
        """When no key was ever made, make the first admin key and return its plaintext.

        Its id is fixed, so two processes starting at once make one key between them:
        the loser's insert hits the primary key and it returns None.
        """
        if self.count() > 0:
            return None
        try:
            _key, plaintext = self.create(
                frozenset({Scope.ADMIN}), "bootstrap admin", key_id=BOOTSTRAP_KEY_ID
            )
        except IntegrityError:
            return None
        return plaintext
