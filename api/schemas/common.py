"""Shapes shared by every resource: problems, pages, amounts, identifiers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, STATUS_BY_CODE, TITLES

# DESIGN §4: digits[.digits]; the scale and the bounds are checked by ledger.money.
AMOUNT_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"
SIGNED_AMOUNT_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
ACCOUNT_ID_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,127}$"

AmountIn = Annotated[
    StrictStr,
    Field(
        pattern=AMOUNT_PATTERN,
        max_length=100,
        description="Decimal string in whole units, at most the asset's scale of decimals "
        "(USD 2, AZR 18). JSON numbers are refused.",
        examples=["10.50"],
    ),
]
AmountOut = Annotated[
    str,
    Field(
        pattern=SIGNED_AMOUNT_PATTERN,
        description="Decimal string in whole units with the asset's full scale.",
        examples=["1000.00"],
    ),
]
AccountId = Annotated[
    StrictStr, Field(pattern=ACCOUNT_ID_PATTERN, max_length=128, examples=["user:42:usd"])
]
Metadata = Annotated[
    dict[str, Any],
    Field(
        description="A JSON object of strings, integers, booleans, null, lists and objects "
        "(no floats), at most 16 KiB.",
        examples=[{"order_id": "1042"}],
    ),
]


class Input(BaseModel):
    """Base of request bodies: an unknown field is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """RFC 9457 problem details; ``type`` is stable (its page: ``/problems/{code}``),
    ``detail`` is for humans, ``request_id`` names the request in the service's logs."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://azora.dev/problems/not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "account 'user:42:usd' does not exist",
                    "request_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = Field(
        default=None, description="The request's X-Request-Id (given or made)."
    )


# What a status means when a route names no codes of its own, and the code shown for it.
_DESCRIPTIONS = {
    400: "Bad request: no Idempotency-Key header, or a body that is not JSON",
    401: "No or invalid credentials",
    403: "The API key lacks the scope",
    404: "Not found, or not visible to these credentials",
    409: "Conflict with the ledger's state",
    413: "Request body too large",
    422: "Invalid request or amount",
    429: "Rate limited; see Retry-After",
    503: "The ledger is unavailable",
}
DEFAULT_CODES: dict[int, tuple[str, ...]] = {
    400: ("bad-request", "missing-idempotency-key"),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not-found",),
    409: ("conflict",),
    413: ("payload-too-large",),
    415: ("unsupported-media-type",),
    422: ("invalid-request",),
    429: ("rate-limited",),
    503: ("unavailable",),
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _example(code: str) -> dict[str, Any]:
    return {
        "summary": TITLES[code],
        "value": {
            "type": PROBLEM_BASE + code,
            "title": TITLES[code],
            "status": STATUS_BY_CODE[code],
            "detail": "...",
            "request_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        },
    }


def problems(*statuses: int, codes: Iterable[str] = ()) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: the problem types (``codes``) a route answers, grouped
    by status, each with its example and a link to its page; a status named without codes
    gets the generic ones of :data:`DEFAULT_CODES`."""
    named: dict[int, list[str]] = {}
    for code in codes:
        named.setdefault(STATUS_BY_CODE[code], []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *named}):
        listed = named.get(status) or list(DEFAULT_CODES.get(status, ("internal-error",)))
        links = ", ".join(f"[`{c}`](/problems/{c})" for c in listed)
        responses[status] = {
            "model": Problem,
            "description": f"{_DESCRIPTIONS.get(status, TITLES[listed[0]])}. Types: {links}",
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": _PROBLEM_REF,
                    "examples": {c: _example(c) for c in listed},
                }
            },
        }
    return responses


def codes_of(response: dict[str, Any]) -> list[str]:
    """The problem types a ``responses`` entry made by :func:`problems` lists."""
    content = response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {})
    return list(content.get("examples", {}))


# Every authenticated route can answer these.
PROTECTED = problems(401, 422, 429, 503, codes=("bad-request", "payload-too-large"))
