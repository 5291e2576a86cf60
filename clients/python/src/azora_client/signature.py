"""Verify a webhook delivery's ``Azora-Signature`` header (Stripe's scheme).

    from azora_client import verify_signature, SignatureError

    try:
        verify_signature(request_body_bytes, request.headers.get("Azora-Signature"), secret)
    except SignatureError:
        return 400  # not from the ledger, altered, or replayed late

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>``. Pass the raw
bytes received: a body parsed and serialized again no longer matches. The comparison is
constant-time; a ``t`` more than ``tolerance_s`` away from now is refused (an old delivery
replayed by someone who captured it).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Azora-Signature"
DEFAULT_TOLERANCE_S = 300
HEADER_MAX_CHARS = 4096
TIMESTAMP_MAX_DIGITS = 12


class SignatureError(ValueError):
    """The signature is missing, malformed, too old or too new, or does not match."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The header the ledger sends for ``payload`` at ``timestamp`` (for receivers' tests)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now_s: float | None = None,
) -> int:
    """The delivery's timestamp when ``header`` signs ``payload`` under ``secret``, within
    ``tolerance_s`` of ``now_s`` (default: the wall clock); else :class:`SignatureError`."""
    if not isinstance(payload, (bytes, bytearray)):
        raise TypeError("payload must be the raw bytes of the request body")
    if not header or len(header) > HEADER_MAX_CHARS or not header.isascii():
        raise SignatureError("no Azora-Signature header")
    stamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= TIMESTAMP_MAX_DIGITS:
            stamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        raise SignatureError("the header needs t=<unix seconds> and v1=<hex>")
    now = time.time() if now_s is None else now_s
    if abs(now - stamp) > tolerance_s:
        raise SignatureError(f"the timestamp is more than {tolerance_s:g} s from now")
    expected = sign(bytes(payload), secret, stamp).rpartition("v1=")[2]
    matched = False
    for candidate in candidates:  # every one compared: the time does not tell which matched
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no v1 signature matches this body and secret")
    return stamp
