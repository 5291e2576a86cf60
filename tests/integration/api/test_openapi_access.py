"""The access matrix generated from the OpenAPI document: every operation the app serves
times every kind of wrong credential, so a new endpoint is covered the day it is added.

- Each operation is either declared public here (with the reason) or answers 401
  ``problem+json`` to no credentials, garbage, a fake API key, a revoked key, HTTP Basic, and
  user tokens that are expired, signed with another secret, or ``alg=none``. An endpoint left
  open by mistake fails; one made public on purpose must be listed.
- A ``ledger:read`` key never gets a 2xx from an operation that changes something.
- User mallory's token never gets a 2xx on user alice's resources (``/v1/users/alice/…``,
  ``/v1/instructors/alice/…``).
- Nothing answers 5xx, and every refusal is ``problem+json``.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from api.security import issue_user_token
from tests.integration.api.conftest import ADMIN, JWT_SECRET, Api, bearer

pytestmark = pytest.mark.integration

# (method, path template) -> why it answers without credentials
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus scrape (no personal data: gauges of the journal)",
    ("GET", "/v1/anchors"): "auditors verify anchors without an account",
    ("GET", "/v1/proofs/consistency"): "auditors: consistency proofs",
    ("GET", "/v1/checkpoint"): "auditors: the signed checkpoint",
    ("GET", "/v1/checkpoint/key"): "auditors: the checkpoint's verifier key",
    ("GET", "/v1/plans"): "the price list",
    ("POST", "/v1/payments/webhooks/stripe"): "authenticated by Stripe's signature header",
    ("GET", "/v1/courses"): "the public course catalog",
    ("GET", "/v1/courses/{course_id}"): "a published course's page",
    ("GET", "/v1/courses/{course_id}/reviews"): "a published course's reviews",
    ("GET", "/v1/licenses/keys"): "license verifier keys, for offline checks",
    ("POST", "/v1/licenses/validate"): "license keys are checked by the software holding them",
}
PATH_VALUES = {
    "account_id": "user:alice:usd",
    "user_id": "alice",
    "scope": "global",
    "feature": "paid_course_publishing",
    "event_type": "lesson.completed",
    "domain": "example.com",
}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"\{([^}]+)\}")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def wrong_credentials(api: Api) -> dict[str, dict[str, str]]:
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    expired, _ = issue_user_token(
        "alice", JWT_SECRET, 60, now=datetime.now(UTC) - timedelta(hours=2)
    )
    forged, _ = issue_user_token("alice", "not-the-secret-" * 4, 600)
    revoked_id, revoked = api.key("admin")
    assert (
        api.client.post(f"/v1/admin/api-keys/{revoked_id}/revoke", headers=ADMIN).status_code == 200
    )
    none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'alice', 'exp': exp})}."
    return {
        "none": {},
        "garbage": bearer("not-a-token"),
        "fake-key": bearer("azora_0123456789abcdef_" + "x" * 43),
        "revoked-key": bearer(revoked),
        "basic": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "expired-jwt": bearer(expired),
        "wrong-secret-jwt": bearer(forged),
        "alg-none-jwt": bearer(none_alg),
    }


def operations(api: Api) -> list[tuple[str, str, str]]:
    """(method, path template, a concrete path) of every operation in the OpenAPI document."""
    spec = api.client.get("/openapi.json").json()
    found = []
    for template, item in spec["paths"].items():
        concrete = _PARAM.sub(lambda m: PATH_VALUES.get(m.group(1), "x1"), template)
        found += [(method.upper(), template, concrete) for method in item]
    return found


def _send(api: Api, method: str, path: str, headers: dict[str, str]) -> tuple[int, str, str]:
    got = api.client.request(method, path, json={}, headers={**headers, "Idempotency-Key": "mx-1"})
    return got.status_code, got.headers.get("content-type", ""), got.text[:80]


def test_every_operation_is_public_by_declaration_or_refuses_wrong_credentials(api: Api) -> None:
    ops = operations(api)
    assert len(ops) > 50, "the OpenAPI document lists the app's operations"
    declared = {(m, t) for m, t, _ in ops}
    assert set(PUBLIC) <= declared, f"public but gone: {set(PUBLIC) - declared}"
    failures = []
    for name, headers in wrong_credentials(api).items():
        for method, template, path in ops:
            status, media, text = _send(api, method, path, headers)
            refused = status == 401 and media.startswith("application/problem+json")
            if status >= 500 or ((method, template) not in PUBLIC and not refused):
                failures.append(f"{name} {method} {template}: {status} {text}")
    assert not failures, "\n".join(failures)


def test_a_read_key_changes_nothing_and_mallory_reaches_nothing_of_alice(api: Api) -> None:
    mallory = bearer(api.token("mallory"))
    failures = []
    for method, template, path in operations(api):
        if (method, template) in PUBLIC:
            continue
        if method in WRITES:
            status, media, text = _send(api, method, path, bearer(api.reader))
            if status < 400 or status >= 500 or not media.startswith("application/problem+json"):
                failures.append(f"read key {method} {template}: {status} {text}")
        if "{user_id}" in template and template.startswith(("/v1/users/", "/v1/instructors/")):
            status, media, text = _send(api, method, path, mallory)
            if status < 400 or status >= 500:
                failures.append(f"mallory {method} {template}: {status} {text}")
    assert not failures, "\n".join(failures)
