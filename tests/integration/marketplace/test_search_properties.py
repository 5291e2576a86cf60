"""Search, filters, sorts and keyset pages against a brute-force filter over random
catalogs (Hypothesis), on SQLite (FTS5) and PostgreSQL (tsvector + GIN): both back ends
give exactly the reference's pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from monetization.marketplace import Course, Level, Marketplace, SearchQuery, Sort, course_draft
from monetization.marketplace.tables import market_course_tags, market_courses
from monetization.marketplace.text import query_words, words
from tests.integration.marketplace.conftest import START

pytestmark = pytest.mark.integration

VOCABULARY = [
    "python",
    "Python",
    "data",
    "café",
    "CAFÉ",
    "straße",
    "STRASSE",
    "日本語",
    "x1",
    "xylo",
    "ml",
    "ML-ops",
    "naïve",
    "ﬁle",
    "2024",
    "a_b",
    "web",
    "Web3",
]
SEPARATORS = [" ", "-", ", ", "_", "!", "\n"]
CATEGORIES = ["programming", "design", "music"]
TAGS = ["python", "beginners", "ml", "web", "ml-ops", "c.sharp", "a_b", "2024"]
INSTRUCTORS = ["ana", "ben"]


@st.composite
def phrases(draw: st.DrawFn, max_words: int = 6) -> str:
    picked = draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=max_words))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(picked), max_size=len(picked)))
    noise = draw(
        st.text(max_size=6, alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]))
    )
    return "".join(w + s for w, s in zip(picked, seps, strict=True)) + noise


@dataclass
class Spec:
    title: str
    description: str
    category: str
    level: str
    language: str
    price: int
    tags: list[str]
    instructor: str
    status: str
    published_offset_s: int
    rating_centi: int
    rating_count: int
    purchase_count: int


specs = st.builds(
    Spec,
    title=phrases(3).map(lambda t: t.strip() or "t"),
    description=phrases(),
    category=st.sampled_from(CATEGORIES),
    level=st.sampled_from([lv.value for lv in Level]),
    language=st.sampled_from(["en", "pt-BR"]),
    price=st.sampled_from([0, 0, 500, 999, 4999, 10000]),
    tags=st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
    instructor=st.sampled_from(INSTRUCTORS),
    status=st.sampled_from(["published", "published", "published", "draft", "unpublished"]),
    published_offset_s=st.integers(0, 5),  # few values: ties on the sort key
    rating_centi=st.sampled_from([0, 100, 350, 433, 500]),
    rating_count=st.integers(0, 3),
    purchase_count=st.integers(0, 3),
)
queries = st.builds(
    SearchQuery,
    q=st.one_of(st.none(), st.sampled_from(VOCABULARY), phrases(2)),
    category=st.one_of(st.none(), st.sampled_from(CATEGORIES)),
    level=st.one_of(st.none(), st.sampled_from(list(Level))),
    language=st.one_of(st.none(), st.just("en")),
    instructor_id=st.one_of(st.none(), st.sampled_from(INSTRUCTORS)),
    tag=st.one_of(st.none(), st.sampled_from(TAGS)),
    min_price=st.one_of(st.none(), st.sampled_from([1, 999])),
    max_price=st.one_of(st.none(), st.sampled_from([0, 4999])),
    free=st.one_of(st.none(), st.booleans()),
    min_rating_centi=st.one_of(st.none(), st.sampled_from([100, 400])),
    sort=st.one_of(st.none(), st.sampled_from(list(Sort))),
    limit=st.integers(1, 4),
)


def _load(market: Marketplace, catalog: list[Spec]) -> list[Course]:
    engine = market.courses.engine
    with engine.begin() as conn:
        conn.execute(delete(market_course_tags))
        conn.execute(delete(market_courses))
    made = []
    for spec in catalog:
        course = market.courses.create(
            spec.instructor,
            course_draft(
                title=spec.title,
                description=spec.description,
                category=spec.category,
                level=spec.level,
                language=spec.language,
                price="0" if spec.price == 0 else f"{spec.price // 100}.{spec.price % 100:02d}",
                tags=spec.tags,
            ),
        )
        published = START + timedelta(seconds=spec.published_offset_s)
        with engine.begin() as conn:
            conn.execute(
                update(market_courses)
                .where(market_courses.c.id == course.id)
                .values(
                    status=spec.status,
                    published_at=published,
                    rating_centi=spec.rating_centi if spec.rating_count else 0,
                    rating_count=spec.rating_count,
                    purchase_count=spec.purchase_count,
                )
            )
        made.append(market.courses.get(course.id))
    return made


def _reference(courses: list[Course], query: SearchQuery) -> list[str]:
    found = query_words(query.q) if query.q else []

    def keep(c: Course) -> bool:
        doc = set(words(" ".join([c.title, c.description, *c.tags])))
        checks = [
            c.status.value == "published",
            all(w in doc for w in found),
            query.category in (None, c.category),
            query.level in (None, c.level),
            query.language in (None, c.language),
            query.instructor_id in (None, c.instructor_id),
            query.tag is None or query.tag in c.tags,
            query.min_price is None or c.price >= query.min_price,
            query.max_price is None or c.price <= query.max_price,
            query.free is None or (c.price == 0) == query.free,
            query.min_rating_centi is None or c.rating_centi >= query.min_rating_centi,
        ]
        return all(checks)

    def score(c: Course) -> int:
        title = set(words(c.title))
        return sum(1 for w in found if w in title)

    assert all(c.published_at is not None for c in courses)
    sort = query.effective_sort(bool(found))
    key: Any = {
        Sort.RELEVANCE: lambda c: (score(c), c.purchase_count, c.published_at, c.num),
        Sort.NEWEST: lambda c: (c.published_at, c.num),
        Sort.PRICE_ASC: lambda c: (c.price, c.num),
        Sort.PRICE_DESC: lambda c: (c.price, c.num),
        Sort.RATING: lambda c: (c.rating_centi, c.rating_count, c.num),
        Sort.POPULARITY: lambda c: (c.purchase_count, c.num),
    }[sort]
    kept = sorted(filter(keep, courses), key=key, reverse=sort is not Sort.PRICE_ASC)
    return [c.id for c in kept]


def _all_pages(market: Marketplace, query: SearchQuery) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = market.search.search(replace(query, cursor=cursor))
        assert len(page.data) <= query.limit
        seen += [c.id for c in page.data]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    catalog=st.lists(specs, min_size=0, max_size=14),
    query_list=st.lists(queries, min_size=1, max_size=4),
)
def test_search_matches_a_brute_force_filter(
    market: Marketplace, catalog: list[Spec], query_list: list[SearchQuery]
) -> None:
    courses = _load(market, catalog)
    for query in query_list:
        assert _all_pages(market, query) == _reference(courses, query), query
