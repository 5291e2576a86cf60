"""Pure checks of what licensing requests carry: ids, names, URLs, colours, e-mail
addresses, domain names and instants. Each raises an :class:`~ledger.InvalidRequest`
subclass naming the field, never echoing a hostile value whole."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ledger import InvalidId, InvalidRequest, InvalidText, InvalidTime

ORG_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
USER_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
EVENT_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}")
LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
URL_MAX_CHARS = 2048
EMAIL_MAX_CHARS = 254
DOMAIN_MAX_CHARS = 253


def shown(value: object) -> str:
    """A value for an error message: short, ASCII, storable."""
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return text.encode("ascii", "backslashreplace").decode()


def check_id(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidId(f"{what} {shown(value)} must match ^{pattern.pattern}$")
    return value


def check_org_id(value: object) -> str:
    return check_id(value, ORG_ID_RE, "organization id")


def check_user_id(value: object) -> str:
    return check_id(value, USER_ID_RE, "user id")


def check_text(value: object, what: str, max_chars: int, *, multiline: bool = False) -> str:
    """Text a person wrote: not blank, at most ``max_chars``, no NUL or other control
    characters (newlines and tabs only with ``multiline``), valid Unicode."""
    if not isinstance(value, str):
        raise InvalidText(f"{what} must be text")
    if not value.strip() or len(value) > max_chars:
        raise InvalidText(f"{what} must be 1-{max_chars} characters, not blank")
    allowed = "\n\t\r" if multiline else ""
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidText(
                f"{what} holds a control character or a lone surrogate (U+{ord(char):04X})"
            )
    return value


def check_https_url(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > URL_MAX_CHARS or not value.isascii():
        raise InvalidRequest(f"{what} must be an https URL of at most {URL_MAX_CHARS} ASCII chars")
    if any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in value):
        raise InvalidRequest(f"{what} must not hold spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise InvalidRequest(f"{what} is not a valid URL") from None
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise InvalidRequest(f"{what} must be an https URL with a host and no credentials")
    return value


def check_color(value: object, what: str) -> str:
    if not isinstance(value, str) or not COLOR_RE.fullmatch(value):
        raise InvalidRequest(f"{what} must be a colour #RRGGBB, not {shown(value)}")
    return value.upper()


def check_email(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > EMAIL_MAX_CHARS or not EMAIL_RE.fullmatch(value):
        raise InvalidRequest(f"{what} must be an e-mail address like support@example.com")
    domain = value.rsplit("@", 1)[1]
    if "." not in domain or domain.startswith(".") or ".." in domain or domain.endswith("."):
        raise InvalidRequest(f"{what} must be an e-mail address like support@example.com")
    return value


def check_domain(value: object) -> str:
    """A host name of two or more labels, lower case, no trailing dot, not an address."""
    if not isinstance(value, str) or not 3 <= len(value) <= DOMAIN_MAX_CHARS:
        raise InvalidRequest(f"domain {shown(value)} must be a host name of 3-253 characters")
    labels = value.split(".")
    if len(labels) < 2 or not all(LABEL_RE.fullmatch(label) for label in labels):
        raise InvalidRequest(
            f"domain {shown(value)} must be lower-case labels of [a-z0-9-] joined by dots"
        )
    if labels[-1].isdigit():
        raise InvalidRequest(f"domain {shown(value)} is an address, not a host name")
    return value


def check_instant(value: object, what: str) -> datetime:
    """An aware instant that stays within the calendar once in UTC, returned in UTC."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidTime(f"{what} must be an instant with a timezone")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidTime(f"{what} falls outside years 1-9999 once in UTC") from None
