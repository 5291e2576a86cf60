"""Credentials: service API keys (scoped, stored hashed) and user tokens (JWT HS256).

An API key reads ``azora_<id>_<secret>``: the id finds the stored row, and only
``sha256(secret)`` is stored, compared in constant time. The secret has 256 bits of
entropy, so a plain hash is enough (no password stretching needed).

A user token is a JWT signed with HS256 and ``AZORA_JWT_SECRET`` carrying ``sub`` (the
user id) and ``exp``. Only HS256 is accepted: ``alg: none`` and every other algorithm fail.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from monetization.ids import USER_ID_RE

KEY_PREFIX = "azora_"
KEY_ID_BYTES = 8
KEY_SECRET_BYTES = 32
JWT_ALGORITHM = "HS256"
JWT_MIN_SECRET_CHARS = 32
_KEY_RE = re.compile(r"azora_([0-9a-z]{1,32})_([A-Za-z0-9_-]{20,100})")


class Scope(StrEnum):
    LEDGER_READ = "ledger:read"
    ENTRIES_WRITE = "entries:write"
    EVENTS_READ = "events:read"  # the change stream and webhooks (DESIGN §15)
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


class PrincipalKind(StrEnum):
    KEY = "key"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``name`` is the ledger's idempotency principal and the rate bucket."""

    kind: PrincipalKind
    id: str
    scopes: frozenset[Scope] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @property
    def is_user(self) -> bool:
        return self.kind is PrincipalKind.USER

    def has(self, scope: Scope) -> bool:
        return not self.is_user and (Scope.ADMIN in self.scopes or scope in self.scopes)


# --- API keys ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewKey:
    id: str
    secret_hash: str
    plaintext: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(key_id: str | None = None) -> NewKey:
    key_id = key_id or secrets.token_hex(KEY_ID_BYTES)
    secret = secrets.token_urlsafe(KEY_SECRET_BYTES)
    return NewKey(key_id, hash_secret(secret), f"{KEY_PREFIX}{key_id}_{secret}")


def split_api_key(presented: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key, else None."""
    match = _KEY_RE.fullmatch(presented)
    return (match.group(1), match.group(2)) if match else None


def secrets_match(secret: str, stored_hash: str) -> bool:
    return secrets.compare_digest(hash_secret(secret), stored_hash)


def parse_scopes(text: str) -> frozenset[Scope]:
    """Scopes from ``"ledger:read entries:write"`` (space or comma separated)."""
    names = [s for s in re.split(r"[\s,]+", text.strip()) if s]
    unknown = [s for s in names if s not in {x.value for x in Scope}]
    if unknown:
        known = ", ".join(s.value for s in Scope)
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {known}")
    return frozenset(Scope(s) for s in names)


def scopes_text(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(s.value for s in scopes))


# --- user tokens ------------------------------------------------------------------------


class InvalidToken(Exception):
    """The token is malformed, wrongly signed, expired or names no valid user."""


def issue_user_token(
    user_id: str, secret: str, ttl_s: int, now: datetime | None = None
) -> tuple[str, datetime]:
    """A signed token for ``user_id`` and its expiry."""
    if not USER_ID_RE.fullmatch(user_id):
        raise ValueError(f"user id {user_id!r:.80} must match ^{USER_ID_RE.pattern}$")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    expires = issued + timedelta(seconds=ttl_s)
    claims = {"sub": user_id, "iat": issued, "exp": expires, "typ": "user"}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), expires


def verify_user_token(token: str, secret: str) -> str:
    """The user id of a valid token; :class:`InvalidToken` otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not USER_ID_RE.fullmatch(sub):
        raise InvalidToken("the token's subject is not a user id")
    return sub


def ephemeral_jwt_secret() -> str:
    return secrets.token_urlsafe(48)
