"""The licensing routes over HTTP (in-process, PostgreSQL): the flows, the authorization
matrix (an owner, admin and member of one organization try every licensing endpoint of
another and of their own), and hostile input on every endpoint."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import ADMIN
from tests.integration.licensing.http_world import LICENSE, PEOPLE, World, dump, problem, world

pytestmark = pytest.mark.integration
ACCESS = {"owner": 3, "admin": 2, "member": 1}
MEMBER, ADMIN_ROLE, OWNER, PLATFORM = 1, 2, 3, 4
fresh = itertools.count()


@pytest.fixture
def w(pg_url: str, tmp_path: Path) -> Iterator[World]:
    yield from world(pg_url, tmp_path)


def prepare(w: World, org: str) -> dict[str, str]:
    """What the endpoints act on: a ticket, a domain with its TXT record, SSO settings."""
    ticket = w.admin(
        "POST",
        f"/v1/orgs/{org}/tickets",
        {"subject": "Export", "body": "CSV export fails", "priority": "high"},
    )
    domain = w.admin("POST", f"/v1/orgs/{org}/domains", {"domain": f"learn.{org}.com"})
    w.resolver.set(domain["txt_name"], domain["txt_value"])
    w.admin(
        "PUT",
        f"/v1/orgs/{org}/sso",
        {
            "protocol": "oidc",
            "issuer": f"https://id.{org}.com",
            "client_id": "azora",
            "client_secret": "s3cret!",
        },
    )
    lic = w.admin("GET", f"/v1/orgs/{org}/licenses")["data"][0]
    return {"ticket": ticket["id"], "domain": domain["domain"], "license": lic["id"]}  # fmt: skip


Endpoint = tuple[str, str, Callable[[], Any], int]


def endpoints(w: World, org: str, ids: dict[str, str]) -> list[Endpoint]:
    """(method, path, body maker, access needed) for every licensing endpoint of ``org``."""
    base, t = f"/v1/orgs/{org}", ids["ticket"]

    def victim() -> str:  # a member to remove, added by the platform first
        user = f"victim-{next(fresh)}"
        w.admin("POST", f"{base}/members", {"user_id": user, "role": "member"})
        return user

    def n() -> int:
        return next(fresh)

    return [
        ("GET", base, lambda: None, MEMBER),
        ("GET", f"{base}/members", lambda: None, MEMBER),
        ("POST", f"{base}/members", lambda: {"user_id": f"new-{n()}"}, ADMIN_ROLE),
        ("POST", f"{base}/members", lambda: {"user_id": f"boss-{n()}", "role": "owner"}, OWNER),
        ("DELETE", f"{base}/members/{{victim}}", victim, ADMIN_ROLE),
        ("POST", f"{base}/usage",
         lambda: {"event_id": f"ev-{n()}", "metric": "api_calls", "quantity": 5}, ADMIN_ROLE),
        ("GET", f"{base}/usage", lambda: None, MEMBER),
        ("GET", f"{base}/branding", lambda: None, MEMBER),
        ("PUT", f"{base}/branding",
         lambda: {"display_name": f"Brand {n()}", "primary_color": "#112233"}, ADMIN_ROLE),
        ("GET", f"{base}/domains", lambda: None, MEMBER),
        ("POST", f"{base}/domains", lambda: {"domain": f"d{n()}.{org}.com"}, ADMIN_ROLE),
        ("POST", f"{base}/domains/{ids['domain']}/verify", lambda: None, ADMIN_ROLE),
        ("GET", f"{base}/sso", lambda: None, MEMBER),
        ("PUT", f"{base}/sso",
         lambda: {"protocol": "saml", "metadata_url": f"https://idp.{org}.com/{n()}"}, ADMIN_ROLE),
        ("GET", f"{base}/licenses", lambda: None, MEMBER),
        ("POST", f"{base}/licenses", lambda: {**LICENSE, "seats": 21 + n()}, PLATFORM),
        ("POST", f"{base}/tickets",
         lambda: {"subject": f"Help {n()}", "body": "b", "priority": "low"}, MEMBER),
        ("GET", f"{base}/tickets", lambda: None, MEMBER),
        ("GET", f"{base}/tickets?breached=true", lambda: None, MEMBER),
        ("GET", f"{base}/tickets/{t}", lambda: None, MEMBER),
        ("PATCH", f"{base}/tickets/{t}", lambda: {"priority": "urgent"}, ADMIN_ROLE),
        ("PATCH", f"{base}/tickets/{t}", lambda: {"assignee_id": f"agent-{n()}"}, PLATFORM),
        ("POST", f"{base}/tickets/{t}/comments", lambda: {"body": f"note {n()}"}, MEMBER),
        ("GET", f"{base}/tickets/{t}/comments", lambda: None, MEMBER),
        ("GET", f"{base}/sla-report", lambda: None, MEMBER),
    ]  # fmt: skip


def request(w: World, endpoint: Endpoint, who: dict[str, str], made: Any = ...) -> Any:
    """Send ``endpoint``'s request (its body made now, unless ``made`` is given)."""
    method, path, body, _ = endpoint
    made = body() if made is ... else made
    if "{victim}" in path:
        return w.call(method, path.replace("{victim}", made), who)
    return w.call(method, path, who, made)


def snapshot(w: World, org: str) -> list[str]:
    """Everything a licensing read of ``org`` shows (to prove a refusal wrote nothing)."""
    base = f"/v1/orgs/{org}"
    paths = [base] + [f"{base}/{p}" for p in ("members", "usage", "branding", "domains", "sso",
                                              "licenses", "tickets", "sla-report")]  # fmt: skip
    reads = [w.call("GET", p, ADMIN) for p in paths]
    tickets = reads[-2].json()["data"]
    reads += [w.call("GET", f"{base}/tickets/{x['id']}/comments", ADMIN) for x in tickets]
    return [dump(r) for r in reads]


def test_the_authorization_matrix(w: World) -> None:
    ids = {org: prepare(w, org) for org in PEOPLE}
    for org, other in (("acme", "globex"), ("globex", "acme")):
        for role, user in zip(("owner", "admin", "member"), PEOPLE[org], strict=True):
            who = w.tokens[user]
            # Another organization: every endpoint hidden, nothing written.
            prepared = [(e, e[2]()) for e in endpoints(w, other, ids[other])]
            before_other = snapshot(w, other)
            for endpoint, made in prepared:
                problem(request(w, endpoint, who, made), 404, "not-found")
            assert snapshot(w, other) == before_other, (role, user)
            # Their own: what the role allows succeeds, the rest is 403 and writes nothing.
            for endpoint in endpoints(w, org, ids[org]):
                made = endpoint[2]()  # before the snapshot: it may add a member
                if ACCESS[role] >= endpoint[3]:
                    answer = request(w, endpoint, who, made)
                    assert answer.status_code in (200, 201, 204), (role, endpoint[:2], answer.text)
                    continue
                before = snapshot(w, org)
                problem(request(w, endpoint, who, made), 403, "org-role-required")
                assert snapshot(w, org) == before, (role, endpoint[:2])


def test_strangers_and_other_keys_see_nothing(w: World) -> None:
    ids = prepare(w, "acme")
    reader = w.client.post("/v1/admin/api-keys", json={"scopes": ["ledger:read"]}, headers=ADMIN)
    outsiders = [w.tokens["stan"], {"Authorization": f"Bearer {reader.json()['key']}"}]
    for who in outsiders:
        prepared = [(e, e[2]()) for e in endpoints(w, "acme", ids)]
        before = snapshot(w, "acme")
        for endpoint, made in prepared:
            problem(request(w, endpoint, who, made), 404, "not-found")
        # Platform-only routes: hidden from user tokens; a key without the scope is told so.
        status = 404 if who is outsiders[0] else 403
        problem(w.call("POST", f"/v1/licenses/{ids['license']}/revoke", who), status)
        body = {"id": "x", "name": "X", "owner_user_id": "x"}
        problem(w.call("POST", "/v1/orgs", who, body), status)
        assert snapshot(w, "acme") == before
    for user in PEOPLE["acme"]:  # revoking is the platform's, whatever the role
        problem(w.call("POST", f"/v1/licenses/{ids['license']}/revoke", w.tokens[user]), 404)
    assert [o["id"] for o in w.call("GET", "/v1/orgs", w.tokens["mia"]).json()["data"]] == ["acme"]
    assert w.call("GET", "/v1/orgs", w.tokens["stan"]).json()["data"] == []
    assert len(w.call("GET", "/v1/orgs", ADMIN).json()["data"]) == 2
    problem(w.call("GET", "/v1/orgs", outsiders[1]), 404)
    problem(w.call("GET", "/v1/orgs/acme", {}), 401)


def test_an_admin_cannot_touch_owners_and_members_do_not_see_keys(w: World) -> None:
    ada, mia = w.tokens["ada"], w.tokens["mia"]
    problem(w.call("DELETE", "/v1/orgs/acme/members/olga", ada), 403, "org-role-required")
    problem(w.call("POST", "/v1/orgs/acme/members", ada, {"user_id": "olga", "role": "member"}),
            403, "org-role-required")  # fmt: skip
    answer = w.call("POST", "/v1/orgs/acme/members", w.tokens["olga"],
                    {"user_id": "olga", "role": "admin"})  # fmt: skip
    problem(answer, 409, "last-owner")
    assert w.call("GET", "/v1/orgs/acme/licenses", mia).json()["data"][0]["key"] is None
    assert w.call("GET", "/v1/orgs/acme/licenses", ada).json()["data"][0]["key"].startswith("azl1.")
    sso = w.call(
        "PUT",
        "/v1/orgs/acme/sso",
        ada,
        {
            "protocol": "oidc",
            "issuer": "https://i.acme.com",
            "client_id": "c",
            "client_secret": "top-s3cret",
        },
    )
    assert sso.status_code == 200 and sso.json()["client_secret_set"] is True
    assert "top-s3cret" not in sso.text and "top-s3cret" not in w.call(
        "GET", "/v1/orgs/acme/sso", mia).text  # fmt: skip


def test_the_licensing_flow(w: World) -> None:
    olga = w.tokens["olga"]
    made = w.call("POST", "/v1/orgs/acme/licenses", ADMIN,
                  {**LICENSE, "seats": 4, "limits": {"api_calls_per_month": 10}})  # fmt: skip
    assert made.status_code == 201 and made.json()["price"] == "299.00"
    key = made.json()["key"]
    valid = w.client.post("/v1/licenses/validate", json={"key": key}).json()
    assert valid["valid"] and valid["reason"] is None and valid["claims"]["seats"] == 4
    keys = w.client.get("/v1/licenses/keys").json()["keys"]
    assert [k["alg"] for k in keys] == ["Ed25519"] and keys[0]["status"] == "active"
    # Seats: olga, ada, mia hold three of four.
    assert w.call("POST", "/v1/orgs/acme/members", olga, {"user_id": "x1"}).status_code == 201
    problem(w.call("POST", "/v1/orgs/acme/members", olga, {"user_id": "x2"}), 409,
            "seat-limit-reached")  # fmt: skip
    # Usage against the new license's limit of 10 calls.
    first = w.call("POST", "/v1/orgs/acme/usage", olga,
                   {"event_id": "e1", "metric": "api_calls", "quantity": 8})  # fmt: skip
    assert first.status_code == 201 and first.json()["month_total"] == 8
    replay = w.call("POST", "/v1/orgs/acme/usage", olga,
                    {"event_id": "e1", "metric": "api_calls", "quantity": 8})  # fmt: skip
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    over = w.call("POST", "/v1/orgs/acme/usage", olga,
                  {"event_id": "e2", "metric": "api_calls", "quantity": 3})  # fmt: skip
    problem(over, 409, "usage-limit-exceeded")
    assert (over.json()["month_total"], over.json()["limit"]) == (8, 10)
    # Revocation.
    revoked = w.call("POST", f"/v1/licenses/{made.json()['id']}/revoke", ADMIN)
    assert revoked.json()["status"] == "revoked"
    again = w.client.post("/v1/licenses/validate", json={"key": key}).json()
    assert (again["valid"], again["reason"]) == (False, "revoked")
    garbled = w.client.post("/v1/licenses/validate", json={"key": "azl1.abc.def"}).json()
    assert (garbled["reason"], garbled["claims"]) == ("malformed", None)


def test_issuing_with_an_idempotency_key_replays(w: World) -> None:
    headers = {**ADMIN, "Idempotency-Key": "lic-acme-2"}
    first = w.client.post("/v1/orgs/acme/licenses", json=LICENSE, headers=headers)
    again = w.client.post("/v1/orgs/acme/licenses", json=LICENSE, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = w.client.post("/v1/orgs/acme/licenses", json={**LICENSE, "seats": 3}, headers=headers)
    problem(other, 409, "idempotency-conflict")


def test_tickets_and_the_sla_report_over_http(w: World) -> None:
    mia = w.tokens["mia"]
    body = {"subject": "Cannot log in", "body": "SSO loops", "priority": "urgent"}
    made = w.call("POST", "/v1/orgs/acme/tickets", mia, body)
    assert made.status_code == 201
    ticket = made.json()
    assert (ticket["status"], ticket["breached"], ticket["tier"]) == ("open", False, "enterprise")
    path = f"/v1/orgs/acme/tickets/{ticket['id']}"
    reply = w.call("POST", f"{path}/comments", ADMIN, {"body": "On it"})
    assert reply.json()["author_kind"] == "support"
    assert w.call("GET", path, mia).json()["first_response_at"] is not None
    closed = w.call("PATCH", path, w.tokens["ada"], {"status": "resolved"})
    assert closed.json()["status"] == "resolved"
    problem(w.call("PATCH", path, w.tokens["ada"], {"status": "pending"}), 409,
            "ticket-state-conflict")  # fmt: skip
    report = w.call("GET", "/v1/orgs/acme/sla-report", mia).json()
    assert (report["tickets"], report["first_response_met"], report["resolution_met"]) == (1, 1, 1)
    assert report["compliance"] == "1.0000"
    assert w.call("GET", "/v1/orgs/acme/tickets?breached=true", mia).json()["data"] == []


def test_domains_over_http(w: World) -> None:
    ada = w.tokens["ada"]
    made = w.call("POST", "/v1/orgs/acme/domains", ada, {"domain": "academy.acme.com"})
    assert made.status_code == 201 and made.json()["status"] == "pending"
    path = "/v1/orgs/acme/domains/academy.acme.com/verify"
    problem(w.call("POST", path, ada), 409, "domain-not-verified")
    w.resolver.set(made.json()["txt_name"], made.json()["txt_value"])
    assert w.call("POST", path, ada).json()["status"] == "verified"
    taken = w.call(
        "POST", "/v1/orgs/globex/domains", w.tokens["gia"], {"domain": "academy.acme.com"}
    )
    problem(taken, 409, "domain-taken")


ORG_PATHS = ["/v1/orgs/{o}", "/v1/orgs/{o}/members", "/v1/orgs/{o}/usage", "/v1/orgs/{o}/branding",
             "/v1/orgs/{o}/domains", "/v1/orgs/{o}/sso", "/v1/orgs/{o}/licenses",
             "/v1/orgs/{o}/tickets", "/v1/orgs/{o}/sla-report"]  # fmt: skip
BAD_IDS = ["ACME", "a" * 65, "acme%00", "%ED%A0%80", "-acme", "acme.x", "ac%20me"]


def test_ids_outside_their_pattern_are_404(w: World) -> None:
    ids = prepare(w, "acme")
    for template, bad in itertools.product(ORG_PATHS, BAD_IDS):
        problem(w.call("GET", template.format(o=bad), ADMIN), 404, "not-found")
    for path in (
        "/v1/orgs/acme/tickets/not-a-uuid", "/v1/orgs/acme/tickets/ABC%00",
        f"/v1/orgs/acme/tickets/{ids['ticket'].upper()}", "/v1/orgs/acme/members/Bad%20User",
        "/v1/orgs/acme/domains/ACME.COM/verify", "/v1/licenses/xyz/revoke",
        "/v1/orgs/acme/tickets/00000000-0000-0000-0000-000000000000",
    ):  # fmt: skip
        method = "POST" if path.endswith(("verify", "revoke")) else "GET"
        if "/members/" in path:
            method = "DELETE"
        problem(w.call(method, path, ADMIN), 404, "not-found")


HOSTILE_BODIES: list[tuple[str, str, str]] = [
    ("POST", "/v1/orgs", '{"id": "ev\\u0000il", "name": "E", "owner_user_id": "e"}'),
    ("POST", "/v1/orgs", '{"id": "evil", "name": "E\\u0000", "owner_user_id": "e"}'),
    ("POST", "/v1/orgs", '{"id": "evil", "name": "E\\ud800", "owner_user_id": "e"}'),
    ("POST", "/v1/orgs", '{"id": "evil", "name": "E", "owner_user_id": "e", "extra": 1}'),
    ("POST", "/v1/orgs/acme/members", '{"user_id": "x\\ud800"}'),
    ("POST", "/v1/orgs/acme/members", '{"user_id": "x", "role": "god"}'),
    (
        "POST",
        "/v1/orgs/acme/usage",
        '{"event_id": "e\\u0000", "metric": "api_calls", "quantity": 1}',
    ),
    ("POST", "/v1/orgs/acme/usage", '{"event_id": "e", "metric": "api_calls", "quantity": "1"}'),
    ("POST", "/v1/orgs/acme/usage", '{"event_id": "e", "metric": "api_calls", "quantity": 1.5}'),
    ("POST", "/v1/orgs/acme/usage", '{"event_id": "e", "metric": "api_calls", "quantity": 1e30}'),
    ("POST", "/v1/orgs/acme/usage", '{"event_id": "e", "metric": "api_calls", "quantity": 0}'),
    ("PUT", "/v1/orgs/acme/branding", '{"display_name": "A\\u0000", "primary_color": "#000000"}'),
    ("PUT", "/v1/orgs/acme/branding", '{"display_name": "\\ud800", "primary_color": "#000000"}'),
    (
        "PUT",
        "/v1/orgs/acme/branding",
        '{"display_name": "A", "primary_color": "#000000", "logo_url": "javascript:alert(1)"}',
    ),
    (
        "PUT",
        "/v1/orgs/acme/branding",
        '{"display_name": "A", "primary_color": "#000000", "support_email": "x\\u0000@a.com"}',
    ),
    ("POST", "/v1/orgs/acme/domains", '{"domain": "a\\u0000.com"}'),
    ("POST", "/v1/orgs/acme/domains", '{"domain": "\\ud800.com"}'),
    ("POST", "/v1/orgs/acme/domains", '{"domain": "127.0.0.1"}'),
    (
        "PUT",
        "/v1/orgs/acme/sso",
        '{"protocol": "oidc", "issuer": "https://i.com", "client_id": "c",'
        ' "client_secret": "s\\u0000"}',
    ),
    (
        "PUT",
        "/v1/orgs/acme/sso",
        '{"protocol": "oidc", "issuer": "https://i.com", "client_id": "c\\ud800",'
        ' "client_secret": "s"}',
    ),
    ("PUT", "/v1/orgs/acme/sso", '{"protocol": "saml", "metadata_url": "http://idp.com"}'),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "enterprise", "seats": 5, "expires_at": "9999-12-31T23:59:59-14:00",'
        ' "payment_method": "pm_card_visa"}',
    ),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "enterprise", "seats": 5, "expires_at": "2099-01-01T00:00:00",'
        ' "payment_method": "pm_card_visa"}',
    ),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "enterprise", "seats": 5, "expires_at": "2000-01-01T00:00:00Z",'
        ' "payment_method": "pm_card_visa"}',
    ),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "enterprise", "seats": 5, "expires_at": "2099-01-01T00:00:00Z",'
        ' "payment_method": "pm_card_visa", "price": 299}',
    ),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "enterprise", "seats": 5, "expires_at": "2099-01-01T00:00:00Z",'
        ' "payment_method": "pm_card_visa", "price": "1e3"}',
    ),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "professional", "seats": 5, "expires_at": "2099-01-01T00:00:00Z",'
        ' "payment_method": "pm\\u0000visa"}',
    ),
    (
        "POST",
        "/v1/orgs/acme/licenses",
        '{"tier": "starter", "seats": 5, "expires_at": "2099-01-01T00:00:00Z"}',
    ),
    ("POST", "/v1/orgs/acme/tickets", '{"subject": "S\\u0000", "body": "b"}'),
    ("POST", "/v1/orgs/acme/tickets", '{"subject": "S", "body": "\\ud800"}'),
    ("POST", "/v1/orgs/acme/tickets", '{"subject": "S", "body": "b", "priority": "asap"}'),
    ("PATCH", "/v1/orgs/acme/tickets/{t}", '{"status": "deleted"}'),
    ("PATCH", "/v1/orgs/acme/tickets/{t}", '{"assignee_id": "x\\u0000"}'),
    ("POST", "/v1/orgs/acme/tickets/{t}/comments", '{"body": "\\u0000"}'),
    ("POST", "/v1/orgs/acme/tickets/{t}/comments", '{"body": "x\\udfff"}'),
    ("POST", "/v1/licenses/validate", '{"key": "azl1.\\u0000.x"}'),
    ("POST", "/v1/licenses/validate", '{"key": "azl1.\\ud800.x"}'),
    ("POST", "/v1/licenses/validate", '{"key": 42}'),
    ("POST", "/v1/licenses/validate", "not json"),
]
HOSTILE_QUERIES = [
    "/v1/orgs/acme/usage?month=9999-12", "/v1/orgs/acme/usage?month=2030-13",
    "/v1/orgs/acme/usage?month=x%00", "/v1/orgs/acme/sla-report?month=0000-01",
    "/v1/orgs/acme/sla-report?month=%ED%A0%80", "/v1/orgs/acme/tickets?breached=maybe",
    "/v1/orgs/acme/tickets?limit=0", "/v1/orgs/acme/tickets?limit=501",
    "/v1/orgs/acme/tickets?cursor=not-a-uuid", "/v1/orgs/acme/members?cursor=%00",
    "/v1/orgs?cursor=BAD", "/v1/orgs/acme/licenses?cursor=x",
]  # fmt: skip


def test_hostile_input_on_every_endpoint_is_a_4xx(w: World) -> None:
    ids = prepare(w, "acme")
    before = snapshot(w, "acme")
    for method, path, raw in HOSTILE_BODIES:
        answer = w.call(method, path.replace("{t}", ids["ticket"]), ADMIN, raw=raw)
        assert 400 <= answer.status_code < 500, (method, path, raw, answer.text)
        problem(answer, answer.status_code)
    for path in HOSTILE_QUERIES:
        answer = w.call("GET", path, ADMIN)
        assert answer.status_code == 422, (path, answer.text)
        problem(answer, 422)
    assert snapshot(w, "acme") == before
    # A well-formed string that is no key: a verdict, not an error.
    verdict = w.client.post("/v1/licenses/validate", json={"key": "not.a.key"})
    assert verdict.status_code == 200 and verdict.json()["reason"] == "malformed"
