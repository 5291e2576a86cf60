"""The marketplace over HTTP (PostgreSQL): who may do what, problem types, hostile input,
materials streamed in and out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import ADMIN, Api, bearer, make_client

pytestmark = pytest.mark.integration
COURSE = {
    "title": "Python from zero",
    "description": "Learn Python",
    "category": "programming",
    "level": "beginner",
    "language": "en",
    "price": "49.99",
    "tags": ["python"],
}
UUID0 = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def web(pg_url: str, tmp_path: Path) -> Iterator[Api]:
    with make_client(pg_url, data_dir=tmp_path, material_max_bytes=4096) as client:
        made = Api(client, "", "", "", "")
        made.reader = made.key("ledger:read")[1]
        made.alice, made.bob = made.token("alice"), made.token("bob")
        yield made


def _pro(web: Api, token: str) -> None:
    got = web.client.post(
        "/v1/users/alice/subscription",
        json={"plan": "pro", "payment_method": "pm_card_visa"},
        headers={**bearer(token), "Idempotency-Key": "pro"},
    )
    assert got.status_code == 200, got.text


def _course(web: Api, publish: bool = True, **fields: Any) -> dict[str, Any]:
    made = web.client.post("/v1/courses", json={**COURSE, **fields}, headers=bearer(web.alice))
    assert made.status_code == 201, made.text
    if publish:
        _pro(web, web.alice)
        got = web.client.post(f"/v1/courses/{made.json()['id']}/publish", headers=bearer(web.alice))
        assert got.status_code == 200, got.text
        return dict(got.json())
    return dict(made.json())


def _buy(
    web: Api, course_id: str, token: str, key: str = "k1", method: str = "pm_card_visa"
) -> Any:
    return web.client.post(
        f"/v1/courses/{course_id}/purchases",
        json={"payment_method": method},
        headers={**bearer(token), "Idempotency-Key": key},
    )


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(f"/{code}"), response.text


def test_an_instructor_cannot_touch_another_instructors_course(web: Api) -> None:
    course = _course(web, publish=False)
    path = f"/v1/courses/{course['id']}"
    bob = bearer(web.bob)
    for method, suffix, body in [
        ("PATCH", "", {"title": "mine now"}),
        ("POST", "/publish", None),
        ("POST", "/unpublish", None),
    ]:
        _problem(
            web.client.request(method, path + suffix, json=body, headers=bob), 404, "not-found"
        )
    upload = web.client.post(
        path + "/materials", headers=bob, files={"file": ("a.txt", b"hi", "text/plain")}
    )
    _problem(upload, 404, "not-found")
    _problem(web.client.get(path), 404, "not-found")  # a draft is not public
    assert web.client.get(path, headers=bearer(web.alice)).status_code == 200
    assert web.client.get(path, headers=bearer(web.reader)).status_code == 200
    edited = web.client.patch(path, json={"title": "Renamed"}, headers=ADMIN)
    assert edited.status_code == 200 and edited.json()["title"] == "Renamed"
    assert web.client.get(path, headers=bearer(web.alice)).json()["title"] == "Renamed"


def test_paid_publishing_needs_a_plan(web: Api) -> None:
    course = _course(web, publish=False)
    got = web.client.post(f"/v1/courses/{course['id']}/publish", headers=bearer(web.alice))
    _problem(got, 409, "plan-required")


def test_buy_refund_and_the_problem_types(web: Api) -> None:
    course = _course(web)
    cid = course["id"]
    _problem(_buy(web, cid, web.bob, "d", "pm_card_chargeDeclined"), 402, "payment-declined")
    _problem(
        _buy(web, cid, web.bob, "u", "pm_card_unavailable"), 503, "payment-provider-unavailable"
    )
    bought = _buy(web, cid, web.bob)
    assert bought.status_code == 201, bought.text
    body = bought.json()
    assert (body["price"], body["instructor_share"], body["platform_share"]) == (
        "49.99",
        "34.99",
        "15.00",
    )
    assert (body["instructor_plan"], body["status"]) == ("pro", "completed")
    replay = _buy(web, cid, web.bob)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == body
    _problem(_buy(web, cid, web.bob, "k2"), 409, "already-purchased")
    _problem(_buy(web, cid, web.alice, "own"), 409, "own-course")
    access = web.client.get(f"/v1/courses/{cid}/access", headers=bearer(web.bob))
    assert access.json() == {"course_id": cid, "user_id": "bob", "access": True}
    library = web.client.get("/v1/users/bob/library", headers=bearer(web.bob)).json()
    assert [i["course"]["id"] for i in library["data"]] == [cid]
    refund = f"/v1/purchases/{body['id']}/refund"
    _problem(web.client.post(refund, headers=bearer(web.token("mallory"))), 404, "not-found")
    _problem(
        web.client.post(refund, json={"after_window": True}, headers=bearer(web.bob)),
        403,
        "forbidden",
    )
    done = web.client.post(refund, headers=bearer(web.bob))
    assert done.status_code == 200 and done.json()["status"] == "refunded"
    assert web.client.post(refund, headers=bearer(web.bob)).json() == done.json()
    access = web.client.get(f"/v1/courses/{cid}/access?user_id=bob", headers=bearer(web.reader))
    assert access.json()["access"] is False
    earnings = web.client.get("/v1/instructors/alice/earnings", headers=bearer(web.alice)).json()
    assert (earnings["pending"], earnings["lifetime"]) == ("0.00", "0.00")
    _problem(
        web.client.get("/v1/instructors/alice/earnings", headers=bearer(web.bob)), 404, "not-found"
    )


def test_only_buyers_review_and_only_the_instructor_replies(web: Api) -> None:
    cid = _course(web)["id"]
    path = f"/v1/courses/{cid}/reviews"
    _problem(
        web.client.post(path, json={"rating": 5, "text": "hi"}, headers=bearer(web.bob)),
        403,
        "not-a-buyer",
    )
    assert _buy(web, cid, web.bob).status_code == 201
    made = web.client.post(path, json={"rating": 4, "text": "good"}, headers=bearer(web.bob))
    assert made.status_code == 201, made.text
    _problem(
        web.client.post(path, json={"rating": 5, "text": "x"}, headers=bearer(web.bob)),
        409,
        "already-reviewed",
    )
    review = f"{path}/{made.json()['id']}"
    _problem(
        web.client.patch(review, json={"rating": 1}, headers=bearer(web.alice)), 404, "not-found"
    )
    _problem(
        web.client.post(review + "/reply", json={"text": "no"}, headers=bearer(web.bob)),
        404,
        "not-found",
    )
    assert web.client.patch(review, json={"rating": 5}, headers=bearer(web.bob)).status_code == 200
    reply = web.client.post(review + "/reply", json={"text": "thanks"}, headers=bearer(web.alice))
    assert reply.json()["reply"]["text"] == "thanks"
    course = web.client.get(f"/v1/courses/{cid}").json()
    assert (course["rating_average"], course["rating_count"]) == ("5.00", 1)
    listed = web.client.get(path).json()
    assert [r["rating"] for r in listed["data"]] == [5]


def test_materials_upload_limits_and_download_access(web: Api) -> None:
    cid = _course(web)["id"]
    path = f"/v1/courses/{cid}/materials"
    alice = bearer(web.alice)
    pdf = b"%PDF-1.7\n" + b"x" * 100
    made = web.client.post(
        path, headers=alice, files={"file": ("../notes.pdf", pdf, "application/pdf")}
    )
    assert made.status_code == 201, made.text
    assert made.json()["filename"] == "notes.pdf" and made.json()["size_bytes"] == len(pdf)
    too_big = web.client.post(
        path, headers=alice, files={"file": ("big.txt", b"a" * 5000, "text/plain")}
    )
    _problem(too_big, 413, "material-too-large")
    _problem(
        web.client.post(
            path, headers=alice, files={"file": ("x.exe", b"MZ", "application/x-msdownload")}
        ),
        415,
        "unsupported-material",
    )
    _problem(
        web.client.post(
            path, headers=alice, files={"file": ("fake.pdf", b"<html>", "application/pdf")}
        ),
        415,
        "unsupported-material",
    )
    _problem(
        web.client.post(path, headers=alice, files={"file": ("t.txt", b"a\x00b", "text/plain")}),
        415,
        "unsupported-material",
    )
    _problem(
        web.client.post(
            path,
            headers=alice,
            content=b"plain",
        ),
        415,
        "unsupported-media-type",
    )
    file_path = f"{path}/{made.json()['id']}"
    _problem(web.client.get(file_path, headers=bearer(web.bob)), 404, "not-found")
    assert _buy(web, cid, web.bob).status_code == 201
    got = web.client.get(file_path, headers=bearer(web.bob))
    assert got.status_code == 200 and got.content == pdf
    assert got.headers["x-content-type-options"] == "nosniff"
    listed = web.client.get(path, headers=bearer(web.bob)).json()["data"]
    assert [m["sha256"] for m in listed] == [made.json()["sha256"]]


HOSTILE_IDS = ["%00", "a%00b", "%ED%A0%80", "x" * 300, "..%2F..", UUID0[:-1] + "Z"]


def test_hostile_input_is_a_clean_4xx(web: Api) -> None:
    cid = _course(web)["id"]
    alice = {**bearer(web.alice), "Idempotency-Key": "h"}
    paths = [
        "/v1/courses/{}",
        "/v1/courses/{}/reviews",
        "/v1/purchases/{}",
        "/v1/instructors/{}/earnings",
        "/v1/users/{}/library",
        f"/v1/courses/{cid}/materials/{{}}",
        f"/v1/courses/{cid}/reviews/{{}}/reply",
    ]
    for template in paths:
        for bad in HOSTILE_IDS:
            got = web.client.request(
                "POST" if "reply" in template else "GET",
                template.format(bad),
                headers=alice,
                json={"text": "x"},
            )
            assert got.status_code == 404 and "Traceback" not in got.text, (template, bad, got.text)
    bodies = [
        {**COURSE, "title": "a\x00b"},
        {**COURSE, "title": "\ud800"},
        {**COURSE, "price": 49.99},
        {**COURSE, "price": "-1"},
        {**COURSE, "price": "1e9"},
        {**COURSE, "level": "expert"},
        {**COURSE, "tags": ["ok", "Not A Slug"]},
        {**COURSE, "description": "x" * 20_001},
        {**COURSE, "evil": 1},
    ]
    for body in bodies:
        got = web.client.post(
            "/v1/courses",
            content=json.dumps(body),
            headers={**alice, "Content-Type": "application/json"},
        )
        assert 400 <= got.status_code < 500 and "Traceback" not in got.text, (body, got.text)
    # Bytes that are not UTF-8 arrive as U+FFFD (no word: no text filter), never as a surrogate.
    assert web.client.get("/v1/courses?q=%ED%A0%80").status_code == 200
    for query in [
        "q=%00",
        "limit=0",
        "limit=101",
        "min_price=-1",
        "min_rating=6",
        "sort=random",
        "cursor=AAAA",
        "cursor=%00",
        "level=expert",
        "min_price=99999999999999999999999",
        "cursor=" + "A" * 300,
    ]:
        got = web.client.get(f"/v1/courses?{query}")
        assert got.status_code == 422 and "Traceback" not in got.text, (query, got.text)
    bad_purchases = [{"payment_method": "pm\x00"}, {"payment_method": 7}, {"buyer_id": "\ud800"}]
    for body in bad_purchases:
        got = web.client.post(
            f"/v1/courses/{cid}/purchases",
            content=json.dumps(body),
            headers={
                **bearer(web.bob),
                "Idempotency-Key": "hb",
                "Content-Type": "application/json",
            },
        )
        assert got.status_code == 422, got.text
    review = web.client.post(f"/v1/courses/{cid}/reviews", json={"rating": 6}, headers=alice)
    assert review.status_code == 422


def test_search_pages_and_cursor_of_another_sort(web: Api) -> None:
    for i in range(3):
        _course(web, title=f"Python part {i}", price="0")
    first = web.client.get("/v1/courses?q=python&limit=2").json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = web.client.get(f"/v1/courses?q=python&limit=2&cursor={first['next_cursor']}").json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    other = web.client.get(f"/v1/courses?sort=price_asc&cursor={first['next_cursor']}")
    _problem(other, 422, "invalid-cursor")


def test_payouts_over_http(web: Api) -> None:
    _problem(
        web.client.post(
            "/v1/instructors/alice/payouts",
            json={"amount": "1.00"},
            headers={**bearer(web.alice), "Idempotency-Key": "p"},
        ),
        409,
        "insufficient-funds",
    )
    _problem(
        web.client.post(
            f"/v1/instructors/alice/payouts/{UUID0}/complete", headers=bearer(web.alice)
        ),
        404,
        "not-found",
    )
