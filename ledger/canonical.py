"""Canonical bytes: what the hash chain and the token log hash.

Keys sorted, no insignificant whitespace, UTF-8, and only strings, integers, booleans,
null, lists and objects. Floats are refused rather than rounded: with no floats, RFC 8785
and a plain sorted compact dump give the same bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from Crypto.Hash import keccak

from ledger.errors import InvalidEntry

MAX_DEPTH = 16


def canonical_json(value: object) -> bytes:
    """The canonical encoding of ``value``; :class:`InvalidEntry` for a float or other type."""
    _check(value, 0)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check(value: object, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidEntry(f"metadata nests deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEntry(f"object keys must be strings, got {key!r}")
            _check(item, depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check(item, depth + 1)
        return
    raise InvalidEntry(
        f"only strings, integers, booleans, null, lists and objects are allowed, "
        f"got {type(value).__name__} {value!r:.40}"
    )


def keccak256(*parts: bytes) -> bytes:
    h = keccak.new(digest_bits=256)
    for part in parts:
        h.update(part)
    return h.digest()


def iso_utc(moment: datetime) -> str:
    """Exact, fixed-width UTC timestamp with microseconds: ``2026-01-02T03:04:05.000006Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def loads(data: str | bytes) -> Any:
    return json.loads(data)
