"""Pure checks of the values a request carries: ids, text and instants.

Everything a command holds passes here before it reaches the writer, so a value the
database cannot store (a NUL character, a lone surrogate, an instant that leaves the
calendar in UTC) is refused as an :class:`~ledger.errors.InvalidRequest` of its own, and
never becomes a driver error inside someone else's group commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from ledger.errors import InvalidAccount, InvalidEntry, InvalidId, InvalidText, InvalidTime

ACCOUNT_ID_RE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,127}")
ACCOUNT_PART_RE = re.compile(r"[a-z0-9_.:-]{0,128}")  # a prefix or suffix of account ids
# Entry ids are made by the ledger (UUIDs); anything else cannot name an entry.
ENTRY_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
KIND_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
KIND_MAX_CHARS = 64
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
PRINCIPAL_MAX_CHARS = 128
# A kind filter: an exact kind, or a prefix ending in ".*" ("reward.earned.*").
KIND_PATTERN_SUFFIX = ".*"


def is_entry_id(value: object) -> bool:
    return isinstance(value, str) and ENTRY_ID_RE.fullmatch(value) is not None


def is_account_id(value: object) -> bool:
    return isinstance(value, str) and ACCOUNT_ID_RE.fullmatch(value) is not None


def is_account_part(value: object) -> bool:
    return isinstance(value, str) and ACCOUNT_PART_RE.fullmatch(value) is not None


def is_idempotency_key(value: object) -> bool:
    return isinstance(value, str) and IDEMPOTENCY_KEY_RE.fullmatch(value) is not None


def check_account_id(value: object, what: str = "account id") -> str:
    if not is_account_id(value):
        raise InvalidAccount(f"{what} {_shown(value)} must match ^[a-z0-9][a-z0-9_.:-]{{0,127}}$")
    assert isinstance(value, str)
    return value


def check_entry_id(value: object, what: str = "entry id") -> str:
    if not is_entry_id(value):
        raise InvalidId(f"{what} {_shown(value)} is not an entry id (1-64 of [A-Za-z0-9_.:-])")
    assert isinstance(value, str)
    return value


def check_idempotency_key(value: object) -> str:
    if not is_idempotency_key(value):
        raise InvalidEntry("idempotency key must be 1-128 characters of [A-Za-z0-9_.:-]")
    assert isinstance(value, str)
    return value


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or len(kind) > KIND_MAX_CHARS or not KIND_RE.fullmatch(kind):
        raise InvalidEntry(
            f"kind {_shown(kind)} must be a dotted tag like 'reward.earned' of at most "
            f"{KIND_MAX_CHARS} characters"
        )
    return kind


def check_kind_pattern(pattern: object) -> str:
    """An exact kind, or a kind followed by ``.*`` (every kind below it)."""
    if isinstance(pattern, str) and pattern.endswith(KIND_PATTERN_SUFFIX):
        check_kind(pattern[: -len(KIND_PATTERN_SUFFIX)])
        return pattern
    return check_kind(pattern)


def check_principal(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= PRINCIPAL_MAX_CHARS:
        raise InvalidText(f"a principal is a name of 1-{PRINCIPAL_MAX_CHARS} characters")
    return check_text(value, "principal")


def check_text(value: str, what: str) -> str:
    """``value`` if every database can store it: no NUL, encodable as UTF-8."""
    if value.isascii():  # the common case: one C-level scan
        if "\x00" in value:
            raise InvalidText(f"{what} contains a NUL character (U+0000)")
        return value
    if "\x00" in value:
        raise InvalidText(f"{what} contains a NUL character (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidText(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None
    return value


def check_instant(moment: object, what: str) -> datetime:
    """``moment`` if it is timezone-aware and still a valid instant once in UTC."""
    if not isinstance(moment, datetime):
        raise InvalidTime(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime(f"{what} must carry a timezone")
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidTime(
            f"{what} {moment.isoformat()} falls outside years 1-9999 once in UTC"
        ) from None
    return moment


def _shown(value: object) -> str:
    """A value for an error message, short and free of characters that cannot be stored."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text.encode("ascii", "backslashreplace").decode()


def kind_matches(kind: str, patterns: Iterable[str]) -> bool:
    """Whether ``kind`` is one of ``patterns`` or lies below a ``prefix.*`` among them."""
    for pattern in patterns:
        if pattern.endswith(KIND_PATTERN_SUFFIX):
            if kind.startswith(pattern[:-1]):  # "reward.earned.*" -> "reward.earned."
                return True
        elif kind == pattern:
            return True
    return False
