"""Refused input: unknown fields (mass assignment) and every bad amount of DESIGN §4.

Each refusal is a 422 problem and leaves the journal exactly as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from ledger import AZR, USD, format_amount
from ledger.money import MAX_AMOUNT_EXCLUSIVE
from ledger.store.engine import make_engine
from ledger.store.tables import accounts, entries
from tests.integration.api.conftest import ADMIN, Api

pytestmark = pytest.mark.integration


def _journal(pg_url: str) -> tuple[int, int]:
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        n_entries = conn.execute(select(func.count()).select_from(entries)).scalar_one()
        n_accounts = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    engine.dispose()
    return int(n_entries), int(n_accounts)


def _entry(amount: Any, asset: str = "USD", **extra: Any) -> dict[str, Any]:
    posting = {
        "source": "user:alice:usd",
        "destination": "user:bob:usd",
        "asset": asset,
        "amount": amount,
    }
    return {"kind": "transfer", "postings": [posting], **extra}


MASS_ASSIGNMENT: list[tuple[str, dict[str, Any]]] = [
    ("/v1/accounts", {"id": "user:eve:usd", "asset": "USD", "balance": "1000000.00"}),
    ("/v1/accounts", {"id": "user:eve:usd", "asset": "USD", "available": "5"}),
    ("/v1/accounts", {"id": "user:eve:usd", "asset": "USD", "created_at": "2020-01-01T00:00:00Z"}),
    ("/v1/entries", _entry("1", seq=1)),
    ("/v1/entries", _entry("1", status="posted")),
    ("/v1/entries", _entry("1", id="00000000-0000-0000-0000-000000000000")),
    ("/v1/entries", _entry("1", principal="key:other")),
    ("/v1/entries", _entry("1", hash="00")),
    ("/v1/entries", _entry("1", effective_at="2020-01-01T00:00:00Z", type="posted")),
    (
        "/v1/entries",
        {
            "kind": "t",
            "postings": [
                {
                    "source": "user:alice:usd",
                    "destination": "user:bob:usd",
                    "asset": "USD",
                    "amount": "1",
                    "balance_after": "0",
                }
            ],
        },
    ),
    ("/v1/entries/batch", {"entries": [{**_entry("1"), "idempotency_key": "b", "seq": 9}]}),
    ("/v1/entries/batch", {"entries": [], "principal": "x"}),
    ("/v1/admin/api-keys", {"scopes": ["ledger:read"], "id": "chosen"}),
    ("/v1/admin/api-keys", {"scopes": ["ledger:read"], "key": "azora_x_y"}),
    ("/v1/admin/api-keys", {"scopes": ["ledger:read"], "revoked_at": None}),
    ("/v1/admin/tokens", {"user_id": "alice", "scopes": ["admin"]}),
    ("/v1/admin/tokens", {"user_id": "alice", "exp": 99999999999}),
]


def test_unknown_fields_are_refused(api: Api, pg_url: str) -> None:
    before = _journal(pg_url)
    failures = []
    for path, body in MASS_ASSIGNMENT:
        got = api.client.post(path, json=body, headers={**ADMIN, "Idempotency-Key": "mass"})
        problem = got.json()
        if (got.status_code, problem.get("type"), got.headers["content-type"]) != (
            422,
            "https://azora.dev/problems/invalid-request",
            "application/problem+json",
        ):
            failures.append(f"{path} {body}: {got.status_code} {got.text[:100]}")
    assert not failures, "\n".join(failures)
    assert _journal(pg_url) == before


TOO_BIG_USD = format_amount(MAX_AMOUNT_EXCLUSIVE, USD)
BAD_AMOUNTS: list[tuple[Any, str]] = [
    (10, "USD"),  # a JSON number
    (10.5, "USD"),
    (0, "USD"),
    (None, "USD"),
    (True, "USD"),
    (["1"], "USD"),
    ({"value": "1"}, "USD"),
    ("-1", "USD"),
    ("0", "USD"),
    ("0.00", "USD"),
    ("1.001", "USD"),  # more decimals than the scale
    ("0." + "0" * 18 + "1", "AZR"),
    ("1e3", "USD"),
    ("1E3", "USD"),
    ("NaN", "USD"),
    ("Infinity", "USD"),
    ("-Infinity", "USD"),
    ("", "USD"),
    (" 1", "USD"),
    ("1 ", "USD"),
    ("\t1", "USD"),
    ("+1", "USD"),
    ("01", "USD"),
    ("1.", "USD"),
    (".5", "USD"),
    ("1,00", "USD"),
    ("1_000", "USD"),
    ("0x10", "USD"),
    ("\u0661", "USD"),  # an Arabic-Indic digit one
    ("1" * 200, "USD"),
    (TOO_BIG_USD, "USD"),  # exactly 2**255 smallest units
    (format_amount(MAX_AMOUNT_EXCLUSIVE, AZR), "AZR"),
]


def test_bad_amounts_are_422_and_write_nothing(api: Api, pg_url: str) -> None:
    api.open("user:alice:azr", asset="AZR")
    api.open("user:bob:azr", asset="AZR")
    before = _journal(pg_url)
    failures = [
        f"{amount!r} {asset}: {why}"
        for amount, asset in BAD_AMOUNTS
        if (why := _refused(api, amount, asset))
    ]
    assert not failures, "\n".join(failures)
    assert _journal(pg_url) == before


def _refused(api: Api, amount: Any, asset: str) -> str:
    """Empty when both the single and the batch endpoint refuse ``amount`` as DESIGN says."""
    body = _entry(amount, asset)
    if asset == "AZR":
        body["postings"][0].update(source="user:alice:azr", destination="user:bob:azr")
    got = api.client.post("/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": "bad"})
    if got.status_code != 422 or not got.json()["type"].endswith("/invalid-amount"):
        return f"single: {got.status_code} {got.text[:100]}"
    batch = api.client.post(
        "/v1/entries/batch", json={"entries": [{**body, "idempotency_key": "bad-b"}]}, headers=ADMIN
    )
    # A JSON number (or other non-string) fails the batch's schema; a bad string fails its item.
    if batch.status_code == 200:
        (result,) = batch.json()["results"]
        problem_type = result["problem"]["type"] if result["problem"] else ""
        ok = result["status"] == 422 and problem_type.endswith("/invalid-amount")
    else:
        ok = batch.status_code == 422 and batch.json()["type"].endswith("/invalid-amount")
    return "" if ok else f"batch: {batch.status_code} {batch.text[:100]}"


def test_largest_amount_below_the_bound_is_accepted(api: Api) -> None:
    api.open("world:azr", asset="AZR", allow_negative=True)
    api.open("user:alice:azr", asset="AZR")
    largest = format_amount(MAX_AMOUNT_EXCLUSIVE - 1, AZR)
    body = {
        "kind": "mint",
        "postings": [
            {
                "source": "world:azr",
                "destination": "user:alice:azr",
                "asset": "AZR",
                "amount": largest,
            }
        ],
    }
    got = api.client.post("/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": "max"})
    assert got.status_code == 201, got.text
    assert got.json()["postings"][0]["amount"] == largest
    balance = api.client.get("/v1/accounts/user:alice:azr", headers=ADMIN).json()["balance"]
    assert balance == largest


def test_malformed_json_is_a_problem(api: Api) -> None:
    got = api.client.post(
        "/v1/entries",
        content=b"{not json",
        headers={**ADMIN, "Idempotency-Key": "j", "Content-Type": "application/json"},
    )
    assert got.status_code == 400  # documented: an undecodable body is a bad request
    assert got.headers["content-type"] == "application/problem+json"
