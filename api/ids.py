"""Every identifier the API takes, as ``Annotated`` types built from the one pattern each.

A value that does not match its pattern (a NUL byte, a lone surrogate, 500 characters) is
refused before any route runs, so it never reaches a query: 404 in a path (it names nothing
that could exist), 422 in a query string or a body. Body fields
use the ``*Field`` types. The patterns themselves live with their owners: the ledger's in
:mod:`ledger.model`, the domains' shared ones in :mod:`monetization.ids`.
"""

from __future__ import annotations

from re import Pattern
from typing import Annotated

from fastapi import Path, Query
from pydantic import Field, StrictStr

from api.errors import ApiProblem
from ledger import ACCOUNT_ID_RE, IDEMPOTENCY_KEY_RE, KIND_RE
from monetization.ids import SLUG_RE, USER_ID_RE, UUID_RE

REPLAYED_HEADER = "Idempotent-Replayed"
PAGE_MAX = 500  # every list takes `limit` within 1..PAGE_MAX (DESIGN §6)
SEQ_CURSOR_MAX_CHARS = 20  # a journal position: at most 19 digits


def anchored(pattern: Pattern[str]) -> str:
    return f"^{pattern.pattern}$"


USER_ID = anchored(USER_ID_RE)
SLUG = anchored(SLUG_RE)
UUID = anchored(UUID_RE)
ACCOUNT_ID = anchored(ACCOUNT_ID_RE)
KIND = anchored(KIND_RE)
IDEMPOTENCY_KEY = anchored(IDEMPOTENCY_KEY_RE)

# --- path parameters --------------------------------------------------------------------
UserPath = Annotated[str, Path(pattern=USER_ID, max_length=64, examples=["42"])]
AccountPath = Annotated[str, Path(pattern=ACCOUNT_ID, max_length=128, examples=["user:42:usd"])]
EntryPath = Annotated[str, Path(pattern=UUID, max_length=36)]
RedemptionPath = Annotated[str, Path(pattern=UUID, max_length=36)]
SlugPath = Annotated[str, Path(pattern=SLUG, max_length=64)]
EventTypePath = Annotated[str, Path(pattern=KIND, max_length=48, examples=["lesson.completed"])]
# Checked by the rewards domain (an unknown scope is 422 `invalid-request`): its grammar is
# `global`, `class:{slug}` or `friends:{user id}`.
BoardScopePath = Annotated[
    str, Path(max_length=80, examples=["global", "class:py-101", "friends:42"])
]
# The marketplace's ids (DESIGN §12), all UUIDs the service makes.
CoursePath = Annotated[str, Path(pattern=UUID, max_length=36)]
PurchasePath = Annotated[str, Path(pattern=UUID, max_length=36)]
ReviewPath = Annotated[str, Path(pattern=UUID, max_length=36)]
PayoutPath = Annotated[str, Path(pattern=UUID, max_length=36)]
MaterialPath = Annotated[str, Path(pattern=UUID, max_length=36)]
# Webhooks (DESIGN §15): UUIDs the service makes.
WebhookPath = Annotated[str, Path(pattern=UUID, max_length=36)]
DeliveryPath = Annotated[str, Path(pattern=UUID, max_length=36)]
ApiKeyIdPath = Annotated[str, Path(pattern=r"^[0-9a-z]{1,32}$", max_length=32)]

# --- query parameters -------------------------------------------------------------------
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
SeqCursor = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{1,19}$",
        max_length=SEQ_CURSOR_MAX_CHARS,
        description="`next_cursor` of the previous page",
    ),
]
UuidCursor = Annotated[
    str | None,
    Query(pattern=UUID, max_length=36, description="`next_cursor` of the previous page"),
]
UserQuery = Annotated[str | None, Query(pattern=USER_ID, max_length=64)]

# --- body fields --------------------------------------------------------------------------
UserIdField = Annotated[StrictStr, Field(pattern=USER_ID, max_length=64, examples=["42"])]
SlugField = Annotated[StrictStr, Field(pattern=SLUG, max_length=64)]
AccountIdField = Annotated[
    StrictStr, Field(pattern=ACCOUNT_ID, max_length=128, examples=["user:42:usd"])
]
KindField = Annotated[
    StrictStr, Field(pattern=KIND, max_length=64, examples=["purchase.completed"])
]
IdempotencyKeyField = Annotated[
    StrictStr, Field(pattern=IDEMPOTENCY_KEY, max_length=128, examples=["order-1042-payment"])
]


def seq_cursor(cursor: str | None) -> int | None:
    """The journal position a :data:`SeqCursor` names (validated by its pattern)."""
    if cursor is None:
        return None
    if not cursor.isdigit():  # unreachable through the route's pattern; a guard for callers
        raise ApiProblem("invalid-request", "cursor must be a next_cursor from a previous page")
    return int(cursor)
