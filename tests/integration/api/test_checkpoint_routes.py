"""The checkpoint routes before any anchor, and the receipt route's refusals (DESIGN §14);
the signed answers themselves are tested over a real chain in tests/integration/anchoring."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import ADMIN, Api, bearer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/v1/checkpoint", "/v1/checkpoint/key"])
def test_before_any_anchor_the_public_routes_say_not_anchored(api: Api, path: str) -> None:
    answer = api.client.get(path)  # no credentials: public
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"].endswith("not-anchored")
    assert int(answer.headers["Retry-After"]) >= 1


def test_a_receipt_needs_credentials_and_a_token_event(api: Api) -> None:
    entry = api.move("user:alice:usd", "user:bob:usd", "1.00", "receipt-usd")
    path = f"/v1/proofs/entries/{entry['id']}/receipt"
    assert api.client.get(path).status_code == 401
    assert api.client.get(path, headers=bearer(api.bob)).status_code == 404  # not bob's
    usd = api.client.get(path, headers=ADMIN)  # USD moves no token: no leaf, as the proof
    assert usd.status_code == 404, usd.text
    proof = api.client.get(f"/v1/proofs/entries/{entry['id']}", headers=ADMIN)
    assert proof.status_code == usd.status_code
    assert api.client.get("/v1/proofs/entries/no-such-id/receipt", headers=ADMIN).status_code == 404
