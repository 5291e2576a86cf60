"""License signing keys: the private halves derived from one secret, the public halves
stored and published, rotation with retired keys still verifying.

Each key has a random ``kid``; its Ed25519 private key is
``HKDF-SHA256(secret, info="azora license signing key v1:" + kid)``, so the database holds
public keys only and every process that has the secret (``AZORA_LICENSE_SIGNING_KEY``) signs
with the active key. Rotation (``azora license rotate-key``) retires the active key and
makes a new one; a retired key stays published, and verifies what it signed, until the
last license it signed expires (``verify_until``); the service itself keeps every key it
had, so online validation tells such old licenses ``expired``. A changed secret cannot sign with old
keys (the derived public key no longer matches: :class:`SigningKeyMismatch`) until a
rotation makes a key of the new secret.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger import WRITE_TXN, Conflict
from monetization.licensing.errors import SigningKeyMismatch
from monetization.licensing.keyformat import public_key_from_text, public_key_text
from monetization.licensing.tables import licensing_signing_keys as K

HKDF_INFO = b"azora license signing key v1:"
KID_BYTES = 8
CACHE_TTL_S = 5.0
RELOAD_MIN_S = 1.0  # an unknown kid reloads the keys at most this often
ACTIVE, RETIRED = "active", "retired"


def derive_private_key(secret: str, kid: str) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO + kid.encode())
    return Ed25519PrivateKey.from_private_bytes(seed.derive(secret.encode("utf-8")))


@dataclass(frozen=True, slots=True)
class PublishedKey:
    kid: str
    public_key: str  # base64url of the 32 raw bytes
    status: str
    verify_until: datetime | None


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


class SigningKeys:
    def __init__(
        self, engine: Engine, secret: Callable[[], str], clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self._secret = secret
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = float("-inf")

    # --- signing ---------------------------------------------------------------------

    def active(self, conn: Connection) -> SigningKey:
        """The active key (made on first use), checked against the configured secret."""
        row = conn.execute(select(K).where(K.c.status == ACTIVE)).first()
        if row is None:
            return self._create_first(conn)
        private = derive_private_key(self._secret(), row.kid)
        if public_key_text(private.public_key()) != row.public_key:
            raise SigningKeyMismatch(
                f"AZORA_LICENSE_SIGNING_KEY does not derive the active key {row.kid}: it changed "
                "since that key was made; run `azora license rotate-key` to sign with it"
            )
        return SigningKey(row.kid, private)

    def _create_first(self, conn: Connection) -> SigningKey:
        try:
            with conn.begin_nested():
                return self._insert(conn)
        except IntegrityError:
            pass  # another process made it first: use that one
        return self.active(conn)

    def _insert(self, conn: Connection) -> SigningKey:
        kid = secrets.token_hex(KID_BYTES)
        private = derive_private_key(self._secret(), kid)
        conn.execute(
            insert(K).values(
                kid=kid, public_key=public_key_text(private.public_key()), status=ACTIVE,
                created_at=self.clock(), retired_at=None, verify_until=None,
            )
        )  # fmt: skip
        return SigningKey(kid, private)

    def extend(self, conn: Connection, kid: str, until: datetime) -> None:
        """Key ``kid`` signed something valid until ``until``: publish it that long."""
        conn.execute(
            update(K)
            .where(and_(K.c.kid == kid, or_(K.c.verify_until.is_(None), K.c.verify_until < until)))
            .values(verify_until=until)
        )

    def rotate(self) -> tuple[str | None, str]:
        """Retire the active key (if any) and make a new one: (old kid, new kid)."""
        now = self.clock()
        try:
            with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
                old = conn.execute(select(K.c.kid).where(K.c.status == ACTIVE)).scalar()
                conn.execute(
                    update(K).where(K.c.status == ACTIVE).values(status=RETIRED, retired_at=now)
                )
                new = self._insert(conn)
        except IntegrityError:
            raise Conflict("another key rotation ran at the same time; run it again") from None
        self.forget()
        return old, new.kid

    # --- verifying ---------------------------------------------------------------------

    def published(self, now: datetime) -> list[PublishedKey]:
        """The active key and every retired key still verifying something at ``now``."""
        current = or_(
            K.c.status == ACTIVE, and_(K.c.verify_until.is_not(None), K.c.verify_until > now)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(select(K).where(current).order_by(K.c.created_at, K.c.kid)).all()
        return [PublishedKey(r.kid, r.public_key, r.status, r.verify_until) for r in rows]

    def verifying(self, kid: str) -> dict[str, Ed25519PublicKey]:
        """Public keys by kid, cached; an unknown ``kid`` reloads them (at most once a
        second, so a stream of made-up kids cannot hammer the database)."""
        with self._lock:
            age_s = time.monotonic() - self._loaded_at
            if age_s > CACHE_TTL_S or (kid not in self._cache and age_s > RELOAD_MIN_S):
                self._cache = self._load()
                self._loaded_at = time.monotonic()
            return self._cache

    def _load(self) -> dict[str, Ed25519PublicKey]:
        """Every key this service ever had (a key past its retirement still tells its old
        licenses ``expired`` online; offline, unpublished, they are ``unknown-key``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(K.c.kid, K.c.public_key)).all()
        keys = {}
        for kid, text in rows:
            public = public_key_from_text(text)
            if public is not None:
                keys[kid] = public
        return keys

    def forget(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")
