"""Course rules (plans for paid publishing, the published-course limit) and reviews (buyers
only, one each, average and count in step), on both back ends."""

from __future__ import annotations

import threading

import pytest

from monetization.billing import Billing
from monetization.marketplace import AlreadyReviewed, Marketplace, NotABuyer, PlanRequired
from monetization.marketplace.errors import InvalidCourse, PublishLimitReached
from monetization.marketplace.reviews import average_centi
from tests.integration.marketplace.conftest import buy, instructor_on, new_course

pytestmark = pytest.mark.integration


def test_paid_publishing_needs_pro_or_enterprise(market: Marketplace, billing: Billing) -> None:
    draft = new_course(market, publish=False)
    with pytest.raises(PlanRequired):
        market.courses.publish(draft.id)
    free = new_course(market, price="0", title="Free one")
    assert free.status.value == "published"
    with pytest.raises(PlanRequired):  # a published free course cannot turn paid on free
        market.courses.edit(free.id, {"price": "5.00"})
    instructor_on(billing, "teach", "pro")
    assert market.courses.publish(draft.id).status.value == "published"
    assert market.courses.publish(draft.id).status.value == "published"  # a repeat


def test_published_courses_are_bounded_by_the_plan_under_concurrency(
    market: Marketplace,
) -> None:
    drafts = [new_course(market, price="0", title=f"T{i}", publish=False) for i in range(4)]
    barrier = threading.Barrier(len(drafts))
    errors: list[Exception] = []

    def publish(course_id: str) -> None:
        barrier.wait()
        try:
            market.courses.publish(course_id)
        except PublishLimitReached as error:
            errors.append(error)

    threads = [threading.Thread(target=publish, args=(d.id,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    published = [market.courses.get(d.id).status.value for d in drafts].count("published")
    assert (published, len(errors)) == (1, 3)  # free plan: 1 published course
    one = next(d for d in drafts if market.courses.get(d.id).status.value == "published")
    market.courses.unpublish(one.id)
    other = next(d for d in drafts if d.id != one.id)
    assert market.courses.publish(other.id).status.value == "published"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "a\x00b"),
        ("title", "\ud800"),
        ("title", "   "),
        ("description", "x\x07"),
        ("level", "expert"),
        ("language", "english"),
        ("price", "-1"),
        ("price", "1e3"),
        ("price", "100000.01"),
        ("price", "9.999"),
        ("category", "Bad Slug"),
        ("tags", ["a"] * 11),
    ],
)
def test_hostile_course_fields_are_refused(market: Marketplace, field: str, value: object) -> None:
    with pytest.raises(InvalidCourse):
        new_course(market, publish=False, **{field: value})  # type: ignore[arg-type]


def test_only_buyers_review_once_and_the_average_follows(
    market: Marketplace, billing: Billing
) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market)
    with pytest.raises(NotABuyer):
        market.reviews.create(course, "bob", 5, "never bought it")
    with pytest.raises(NotABuyer):
        market.reviews.create(course, "teach", 5, "my own")
    for buyer, rating in (("bob", 5), ("carol", 4), ("dave", 4)):
        buy(market, course, buyer)
        market.reviews.create(course, buyer, rating, f"by {buyer}")
    with pytest.raises(AlreadyReviewed):
        market.reviews.create(course, "bob", 1, "again")
    got = market.courses.get(course.id)
    assert (got.rating_sum, got.rating_count, got.rating_centi) == (13, 3, 433)
    review = next(r for r in market.reviews.list(course.id, limit=10) if r.author_id == "bob")
    market.reviews.edit(course.id, review.id, rating=1, text=None)
    got = market.courses.get(course.id)
    assert (got.rating_sum, got.rating_centi) == (9, average_centi(9, 3))
    replied = market.reviews.reply(course.id, review.id, "teach", "thanks")
    assert replied.reply_text == "thanks" and replied.rating == 1


def test_concurrent_reviews_keep_the_count_in_step(market: Marketplace, billing: Billing) -> None:
    instructor_on(billing, "teach", "pro")
    course = new_course(market)
    buyers = [f"b{i}" for i in range(6)]
    for b in buyers:
        buy(market, course, b)
    barrier = threading.Barrier(len(buyers))

    def review(i: int) -> None:
        barrier.wait()
        market.reviews.create(course, buyers[i], 1 + i % 5, "ok")

    threads = [threading.Thread(target=review, args=(i,)) for i in range(len(buyers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = market.courses.get(course.id)
    ratings = [r.rating for r in market.reviews.list(course.id, limit=100)]
    assert (got.rating_count, got.rating_sum) == (len(ratings), sum(ratings)) == (6, 16)
    assert got.rating_centi == average_centi(16, 6)
