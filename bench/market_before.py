"""The search queries as migration 0040 shaped them, for a before/after in one run of
``bench/marketplace.py --before``: the word vector rebuilt per row by an expression
(``array_to_tsvector(string_to_array(search_tokens, ' '))``, with its GIN index made for the
run), relevance computed for every match and sorted, the tag through ``market_course_tags``,
one query with every column read from the table. First pages only (what the benchmark
times); the answers are the same as today's, only the plans differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from monetization.marketplace import SearchQuery, Sort
from monetization.marketplace.tables import COURSE_COLUMNS, market_course_tags, market_courses
from monetization.marketplace.text import query_words

C = market_courses
INDEX = "market_courses_search_0040"
_KEYS = {
    Sort.NEWEST: [C.c.published_at, C.c.num],
    Sort.PRICE_ASC: [C.c.price_cents, C.c.num],
    Sort.PRICE_DESC: [C.c.price_cents, C.c.num],
    Sort.RATING: [C.c.rating_centi, C.c.rating_count, C.c.num],
    Sort.POPULARITY: [C.c.purchase_count, C.c.num],
}


@contextmanager
def expression_index(engine: Engine) -> Iterator[None]:
    """0040's GIN index over the expression, for the time of the measurement."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON market_courses USING gin "
            "(array_to_tsvector(string_to_array(search_tokens, ' ')))"
        )
        conn.exec_driver_sql("ANALYZE market_courses")
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {INDEX}")


def _filters(query: SearchQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [C.c.status == "published"]
    for column, value in (
        (C.c.category, query.category),
        (C.c.level, query.level.value if query.level else None),
        (C.c.language, query.language),
        (C.c.instructor_id, query.instructor_id),
    ):
        if value is not None:
            where.append(column == value)
    if query.tag is not None:
        tags = market_course_tags
        where.append(C.c.num.in_(select(tags.c.course_num).where(tags.c.tag == query.tag)))
    if query.max_price is not None:
        where.append(C.c.price_cents <= query.max_price)
    if query.free is not None:
        where.append(C.c.price_cents == 0 if query.free else C.c.price_cents > 0)
    if query.min_rating_centi is not None:
        where.append(C.c.rating_centi >= query.min_rating_centi)
    return where


def search_0040(engine: Engine, query: SearchQuery) -> list[Any]:
    """The first page of ``query`` the way 0040's search asked for it."""
    found = query_words(query.q) if query.q else []
    sort = query.effective_sort(bool(found))
    where = _filters(query)
    params = {}
    score: ColumnElement[int] = literal(0, Integer)
    if found:
        vector = func.array_to_tsvector(
            func.string_to_array(C.c.search_tokens, literal_column("' '"))
        )
        where.append(vector.op("@@")(cast(bindparam("fts"), TSQUERY)).self_group())
        params["fts"] = " & ".join(f"'{w}'" for w in found)
        padded = literal(" ") + C.c.title_tokens + literal(" ")
        parts = [case((func.strpos(padded, f" {w} ") > 0, 1), else_=0) for w in found]
        score = sum(parts[1:], parts[0])
    keys = (
        [score, C.c.purchase_count, C.c.published_at, C.c.num]
        if sort is Sort.RELEVANCE
        else _KEYS[sort]
    )
    order = [k.asc() if sort is Sort.PRICE_ASC else k.desc() for k in keys]
    stmt = select(*COURSE_COLUMNS, score.label("score")).where(*where)
    with engine.connect() as conn:
        return list(conn.execute(stmt.order_by(*order).limit(query.limit + 1), params).all())
