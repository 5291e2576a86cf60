"""Shapes shared by every resource: problems, pages, amounts, identifiers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.errors import PROBLEM_MEDIA_TYPE, TITLES

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
    """RFC 9457 problem details; ``type`` is stable, ``detail`` is for humans."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://azora.dev/problems/insufficient-funds",
                    "title": "Insufficient funds",
                    "status": 409,
                    "detail": "account 'user:42:usd' has 5.00 available, the entry needs 10.00",
                    "account_id": "user:42:usd",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str


_DESCRIPTIONS = {
    400: "Bad request (no Idempotency-Key header, an undecodable body)",
    401: "No or invalid credentials",
    403: "The API key lacks the scope",
    404: "Not found, or not visible to these credentials",
    409: "Conflict with the ledger's state",
    413: "Request body too large",
    422: "Invalid request or amount",
    429: "Rate limited; see Retry-After",
    503: "The ledger is unavailable",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem statuses."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, TITLES.get("internal-error", "")),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# Every authenticated route can answer these.
PROTECTED = problems(400, 401, 413, 422, 429, 503)
