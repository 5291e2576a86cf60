"""Signatures of webhook deliveries, Stripe's scheme (DESIGN §15).

``Azora-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>``. The key
is the endpoint's secret as given out (``whsec_...``, its UTF-8 bytes); the body is the
exact bytes sent. A receiver recomputes the HMAC over the bytes it received, compares in
constant time, and refuses a ``t`` outside its tolerance (a replayed old delivery).
:func:`verify` is that check, kept here so the tests hold the sender to it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Azora-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32
TOLERANCE_S = 300
HEADER_MAX_CHARS = 4096


class SignatureMismatch(ValueError):
    """The header is missing, malformed, stale, or no ``v1`` matches the body."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(SECRET_BYTES)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` under ``secret``."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, body: bytes, header: str | None, now_s: float, tolerance_s: int = TOLERANCE_S
) -> int:
    """The header's timestamp when one ``v1`` signs ``body``; else :class:`SignatureMismatch`."""
    if not header or len(header) > HEADER_MAX_CHARS or not header.isascii():
        raise SignatureMismatch("no Azora-Signature header")
    stamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            stamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        raise SignatureMismatch("the header needs t=<unix seconds> and v1=<hex>")
    if abs(now_s - stamp) > tolerance_s:
        raise SignatureMismatch(f"the timestamp is more than {tolerance_s} s from now")
    expected = signature(secret, stamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureMismatch("no v1 signature matches this body")
    return stamp
