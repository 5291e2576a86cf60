"""Ids outside their pattern, NUL bytes and odd characters in every path and cursor: a 4xx
problem body, never a 500 nor a driver's message, on PostgreSQL (which refuses NUL in text).
"""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import ADMIN, Api

pytestmark = pytest.mark.integration

HOSTILE = ["%00", "a%00b", "%ED%A0%80", "x" * 300, "..%2F..", "%E2%80%AE", "' OR 1=1 --"]
GETS = [
    "/v1/accounts/{}",
    "/v1/accounts/{}/entries",
    "/v1/entries/{}",
    "/v1/proofs/entries/{}",
    "/v1/proofs/entries/{}/receipt",
    "/v1/users/{}/rewards",
    "/v1/users/{}/rewards/history",
    "/v1/users/{}/redemptions",
    "/v1/users/alice/redemptions/{}",
    "/v1/users/{}/friends",
    "/v1/classes/{}/members",
    "/v1/leaderboards/{}",
    "/v1/leaderboards/class:{}",
]
CURSORS = [
    "/v1/accounts/user:alice:usd/entries?cursor={}",
    "/v1/users/alice/rewards/history?cursor={}",
    "/v1/users/alice/redemptions?cursor={}",
    "/v1/classes/py-101/members?cursor={}",
    "/v1/anchors?cursor={}",
    "/v1/leaderboards/global?user_id={}",
]
POSTS = ["/v1/entries/{}/post", "/v1/entries/{}/void", "/v1/admin/api-keys/{}/revoke"]


def assert_clean_refusal(response: object, where: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status in (404, 422), (where, status, response.text)  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["type"].startswith("https://")
    text = response.text.lower()  # type: ignore[attr-defined]
    for leak in ("psycopg", "sqlalchemy", "traceback", "dataerror", "nul character"):
        assert leak not in text, (where, response.text)  # type: ignore[attr-defined]


def test_hostile_ids_in_paths_and_cursors_are_4xx(api: Api) -> None:
    for value in HOSTILE:
        for template in GETS + CURSORS:
            url = template.format(value)
            assert_clean_refusal(api.client.get(url, headers=ADMIN), url)
        for template in POSTS:
            url = template.format(value)
            assert_clean_refusal(api.client.post(url, headers=ADMIN), url)


def test_the_service_still_writes_after_hostile_requests(api: Api) -> None:
    for value in HOSTILE:
        api.client.post(f"/v1/entries/{value}/void", headers=ADMIN)
    entry = api.move("user:alice:usd", "user:bob:usd", "1", "after-hostile")
    assert entry["status"] == "posted"
