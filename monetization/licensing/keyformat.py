"""The ``azl1`` license key: ``azl1.<payload>.<signature>`` (DESIGN §13).

Both parts are base64url without padding. The payload is the compact, sorted-key JSON
``{"exp","iat","kid","lid","limits","org","seats","tier","v":1}`` (times in unix seconds);
the signature is Ed25519 (through ``cryptography``) over the ASCII bytes ``azl1.<payload>``.

:func:`verify` is pure: it needs the public keys by ``kid``, the time, and (online only)
whether a license id is revoked. Its checks, in order, each with its refusal reason:
``malformed`` (not three parts, another prefix, bad base64url, a payload that is not
exactly the claims above with their types and bounds, a signature that is not 64 bytes),
``unknown-key`` (no published key has that ``kid``), ``bad-signature``, ``revoked``,
``expired`` (``now >= exp``). Claims are returned only once the signature verified.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "azl1"
VERSION = 1
KEY_MAX_CHARS = 4096
SIGNATURE_BYTES = 64
UNIX_MAX_S = 253_402_300_799  # 9999-12-31T23:59:59Z
SEATS_MAX = 1_000_000
LIMIT_MAX = 2**62
TIERS = ("starter", "professional", "enterprise", "custom")
LIMIT_NAMES = ("active_users", "api_calls_per_month", "storage_bytes")
CLAIM_NAMES = frozenset({"v", "lid", "org", "tier", "seats", "limits", "iat", "exp", "kid"})
KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
LID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ORG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")


class Reason(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-month API calls, stored bytes and active users; ``None`` is unlimited."""

    api_calls_per_month: int | None = None
    storage_bytes: int | None = None
    active_users: int | None = None

    def as_json(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in LIMIT_NAMES}


@dataclass(frozen=True, slots=True)
class Claims:
    lid: str
    org: str
    tier: str
    seats: int
    limits: Limits
    iat: int
    exp: int
    kid: str

    def as_json(self) -> dict[str, Any]:
        return {
            "v": VERSION, "lid": self.lid, "org": self.org, "tier": self.tier,
            "seats": self.seats, "limits": self.limits.as_json(), "iat": self.iat,
            "exp": self.exp, "kid": self.kid,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: Reason | None
    claims: Claims | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url ``text``; None for anything else."""
    if not B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if b64url(data) == text else None  # no stray bits: one text per key


def payload_bytes(claims: Claims) -> bytes:
    return json.dumps(claims.as_json(), sort_keys=True, separators=(",", ":")).encode()


def sign(claims: Claims, private_key: Ed25519PrivateKey) -> str:
    signed = f"{PREFIX}.{b64url(payload_bytes(claims))}"
    return f"{signed}.{b64url(private_key.sign(signed.encode('ascii')))}"


def verify(
    key: object,
    public_key: Callable[[str], Ed25519PublicKey | None],
    now_s: int,
    revoked: Callable[[str], bool] | None = None,
) -> Verdict:
    """The verdict on ``key`` at unix time ``now_s`` (see the module's order of checks).
    ``public_key`` finds a key by kid (offline: ``keys.get``); ``revoked`` is asked only
    about authentic keys, and without it (offline) none is revoked."""
    parsed = parse(key)
    if parsed is None:
        return Verdict(Reason.MALFORMED)
    claims, signed, signature = parsed
    public = public_key(claims.kid)
    if public is None:
        return Verdict(Reason.UNKNOWN_KEY)
    try:
        public.verify(signature, signed)
    except InvalidSignature:
        return Verdict(Reason.BAD_SIGNATURE)
    if revoked is not None and revoked(claims.lid):
        return Verdict(Reason.REVOKED, claims)
    if now_s >= claims.exp:
        return Verdict(Reason.EXPIRED, claims)
    return Verdict(None, claims)


def parse(key: object) -> tuple[Claims, bytes, bytes] | None:
    """(claims, the signed bytes, the signature) of a well-formed key; else None."""
    if not isinstance(key, str) or len(key) > KEY_MAX_CHARS or not key.isascii():
        return None
    parts = key.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    payload, signature = unb64url(parts[1]), unb64url(parts[2])
    if payload is None or signature is None or len(signature) != SIGNATURE_BYTES:
        return None
    claims = claims_from_json(payload)
    if claims is None:
        return None
    return claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _no_floats(text: str) -> Any:
    raise ValueError("floats are not claims")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a repeated name")
    return result


def _int(value: object, low: int, high: int) -> int | None:
    return value if type(value) is int and low <= value <= high else None


def claims_from_json(payload: bytes) -> Claims | None:
    """Claims of exactly the §13 shape, or None."""
    try:
        data = json.loads(
            payload.decode("utf-8"), parse_float=_no_floats, parse_constant=_no_floats,
            object_pairs_hook=_unique,
        )  # fmt: skip
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or set(data) != CLAIM_NAMES or data["v"] != VERSION:
        return None
    limits = _limits(data["limits"])
    seats = _int(data["seats"], 1, SEATS_MAX)
    iat, exp = _int(data["iat"], 0, UNIX_MAX_S), _int(data["exp"], 0, UNIX_MAX_S)
    texts = (data["lid"], data["org"], data["tier"], data["kid"])
    if limits is None or seats is None or iat is None or exp is None or exp <= iat:
        return None
    if type(data["v"]) is not int or not all(isinstance(t, str) for t in texts):
        return None
    lid, org, tier, kid = texts
    if not (LID_RE.fullmatch(lid) and ORG_RE.fullmatch(org) and KID_RE.fullmatch(kid)):
        return None
    if tier not in TIERS:
        return None
    return Claims(lid, org, tier, seats, limits, iat, exp, kid)


def _limits(value: object) -> Limits | None:
    if not isinstance(value, dict) or set(value) != set(LIMIT_NAMES):
        return None
    numbers = {name: value[name] for name in LIMIT_NAMES}
    if any(v is not None and _int(v, 0, LIMIT_MAX) is None for v in numbers.values()):
        return None
    return Limits(**numbers)


def public_key_text(key: Ed25519PublicKey) -> str:
    """The base64url of the 32 raw bytes (what ``GET /v1/licenses/keys`` publishes)."""
    return b64url(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_text(text: object) -> Ed25519PublicKey | None:
    raw = unb64url(text) if isinstance(text, str) else None
    if raw is None or len(raw) != 32:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None
