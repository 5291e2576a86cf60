"""``GET /v1/accounts`` and ``GET /v1/entries``: filters, keyset pages, access, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.api.conftest import ADMIN, Api, bearer


def _all_pages(api: Api, path: str, params: dict[str, Any], token: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        got = api.client.get(path, params=query, headers=bearer(token))
        assert got.status_code == 200, got.text
        body = got.json()
        assert len(body["data"]) <= params.get("limit", 100)
        seen.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def test_accounts_by_prefix_and_asset_page_through_in_id_order(api: Api) -> None:
    for i in range(7):
        api.open(f"user:p{i}:usd")
        api.open(f"user:p{i}:azr", "AZR")
    api.open("user:p_x:usd")  # `_` is a LIKE wildcard: it must match itself only
    every = _all_pages(api, "/v1/accounts", {"limit": 3}, api.reader)
    ids = [a["id"] for a in every]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert {"world:card", "user:alice:usd", "user:p3:azr"} <= set(ids)
    usd = _all_pages(
        api, "/v1/accounts", {"prefix": "user:p", "asset": "USD", "limit": 2}, api.reader
    )
    assert [a["id"] for a in usd] == sorted([f"user:p{i}:usd" for i in range(7)] + ["user:p_x:usd"])
    assert all(a["asset"] == "USD" and a["balance"] == "0.00" for a in usd)
    literal = _all_pages(api, "/v1/accounts", {"prefix": "user:p_"}, api.reader)
    assert [a["id"] for a in literal] == ["user:p_x:usd"]
    alice = _all_pages(api, "/v1/accounts", {"prefix": "user:alice:"}, api.reader)
    assert alice[0]["balance"] == "100.00" and alice[0]["available"] == "100.00"


def test_a_user_token_lists_only_its_own_accounts(api: Api) -> None:
    api.open("user:alice:spare")
    assert [a["id"] for a in _all_pages(api, "/v1/accounts", {}, api.alice)] == [
        "user:alice:spare",
        "user:alice:usd",
    ]
    assert _all_pages(api, "/v1/accounts", {"prefix": "user:bob"}, api.alice) == []
    assert len(_all_pages(api, "/v1/accounts", {"prefix": "user:alice:u"}, api.alice)) == 1


def test_entries_of_an_account_with_kind_seq_and_time_filters(api: Api) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(6):
        body = {
            "kind": "payout.weekly" if i % 2 else "transfer.p2p",
            "postings": [
                {
                    "source": "user:alice:usd",
                    "destination": "user:bob:usd",
                    "asset": "USD",
                    "amount": "1",
                }
            ],
        }
        made = api.client.post(
            "/v1/entries", json=body, headers={**ADMIN, "Idempotency-Key": f"lst-{i}"}
        )
        assert made.status_code == 201, made.text
    bob = _all_pages(api, "/v1/entries", {"account": "user:bob:usd", "limit": 4}, api.reader)
    assert len(bob) == 6
    seqs = [e["seq"] for e in bob]
    assert seqs == sorted(seqs, reverse=True)
    alice = _all_pages(api, "/v1/entries", {"account": "user:alice:usd"}, api.alice)
    assert len(alice) == 7 and alice[-1]["kind"] == "transfer"  # the seed deposit
    weekly = _all_pages(
        api, "/v1/entries", {"account": "user:bob:usd", "kind": "payout.*"}, api.bob
    )
    assert [e["kind"] for e in weekly] == ["payout.weekly"] * 3
    both = _all_pages(
        api, "/v1/entries", {"kind": ["payout.weekly", "transfer.p2p"], "limit": 2}, api.reader
    )
    assert len(both) == 6
    window = _all_pages(
        api,
        "/v1/entries",
        {"account": "user:bob:usd", "after_seq": seqs[4], "before_seq": seqs[0]},
        api.reader,
    )
    assert [e["seq"] for e in window] == seqs[1:4]
    later = (base + timedelta(days=3650)).isoformat()
    assert _all_pages(api, "/v1/entries", {"since": later}, api.reader) == []
    assert len(_all_pages(api, "/v1/entries", {"until": later, "limit": 5}, api.reader)) == 7
    assert (
        _all_pages(api, "/v1/entries", {"until": base.replace(year=2000).isoformat()}, api.reader)
        == []
    )


def test_a_listed_hold_carries_its_current_status(api: Api) -> None:
    hold = api.move("user:alice:usd", "user:bob:usd", "5", "lst-hold", pending=True)
    void = api.client.post(f"/v1/entries/{hold['id']}/void", headers=ADMIN)
    assert void.status_code == 200, void.text
    listed = _all_pages(api, "/v1/entries", {"kind": "transfer"}, api.reader)
    by_id = {e["id"]: e for e in listed}
    assert by_id[hold["id"]]["status"] == "voided"
    assert by_id[void.json()["resolution"]["id"]]["type"] == "void_pending"
    # With `account`, the entries that moved its balance: a voided hold never did.
    bobs = _all_pages(api, "/v1/entries", {"account": "user:bob:usd"}, api.reader)
    assert hold["id"] not in {e["id"] for e in bobs}
    posted = api.move("user:alice:usd", "user:bob:usd", "2", "lst-hold-2", pending=True)
    done = api.client.post(f"/v1/entries/{posted['id']}/post", headers=ADMIN).json()
    bobs = _all_pages(api, "/v1/entries", {"account": "user:bob:usd"}, api.bob)
    assert bobs[0]["id"] == done["resolution"]["id"] and bobs[0]["hold_id"] == posted["id"]


def test_who_may_list_entries(api: Api) -> None:
    no_account = api.client.get("/v1/entries", headers=bearer(api.alice))
    assert no_account.status_code == 422
    assert no_account.headers["content-type"].startswith("application/problem+json")
    other = api.client.get(
        "/v1/entries", params={"account": "user:bob:usd"}, headers=bearer(api.alice)
    )
    assert other.status_code == 404
    _id, no_scope = api.key("entries:write")
    assert api.client.get("/v1/entries", headers=bearer(no_scope)).status_code == 403
    assert api.client.get("/v1/accounts", headers=bearer(no_scope)).status_code == 403
    assert api.client.get("/v1/accounts").status_code == 401


# Already percent-encoded: NUL, a lone surrogate's UTF-8 form, bytes that are not UTF-8.
HOSTILE = ["a%00b", "%ED%A0%80", "%FF%FE", "x" * 600, "UPPER", "-1", "1e3", "%20", "0x10"]
HOSTILE += ["9" * 30, "0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00", "2030-02-30"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/accounts", "prefix"),
        ("/v1/accounts", "asset"),
        ("/v1/accounts", "cursor"),
        ("/v1/accounts", "limit"),
        ("/v1/entries", "account"),
        ("/v1/entries", "kind"),
        ("/v1/entries", "after_seq"),
        ("/v1/entries", "before_seq"),
        ("/v1/entries", "since"),
        ("/v1/entries", "until"),
        ("/v1/entries", "cursor"),
        ("/v1/entries", "limit"),
    ],
)
def test_hostile_filters_are_4xx_problems(api: Api, path: str, name: str) -> None:
    for value in HOSTILE:
        got = api.client.get(f"{path}?{name}={value}", headers=bearer(api.reader))
        assert got.status_code in (200, 422), (name, value, got.status_code, got.text)
        if got.status_code == 422:
            assert got.headers["content-type"].startswith("application/problem+json")
            assert "Traceback" not in got.text and "psycopg" not in got.text


def test_limit_bounds(api: Api) -> None:
    for path in ("/v1/accounts", "/v1/entries"):
        for limit, want in ((0, 422), (1, 200), (500, 200), (501, 422)):
            got = api.client.get(path, params={"limit": limit}, headers=bearer(api.reader))
            assert got.status_code == want, (path, limit, got.text)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(page_size=st.integers(1, 6), prefix=st.sampled_from(["", "user:", "user:a", "world:", "zz"]))
def test_pages_partition_the_listing(api: Api, page_size: int, prefix: str) -> None:
    """However the pages are cut, together they are exactly the accounts with the prefix."""
    if not getattr(api, "_opened", False):
        for name in ("ann", "al", "bo", "a_b"):
            api.open(f"user:{name}:usd")
        api._opened = True  # type: ignore[attr-defined]
    whole = api.client.get("/v1/accounts", params={"prefix": prefix, "limit": 500}, headers=ADMIN)
    expected = [a["id"] for a in whole.json()["data"]]
    assert all(i.startswith(prefix) for i in expected)
    paged = _all_pages(api, "/v1/accounts", {"prefix": prefix, "limit": page_size}, api.reader)
    assert [a["id"] for a in paged] == expected
