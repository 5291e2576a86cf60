"""Search over published courses: full text, filters, sorts, keyset pagination (DESIGN §12).

Words are made in Python (:mod:`monetization.marketplace.text`) and matched exactly on both
back ends: PostgreSQL with the GIN index over the stored ``search_vector`` and a ``tsquery``
of quoted lexemes (no parsing, no stemming); SQLite with the FTS5 table. Every query word must
occur. *Relevance* is the number of query words in the title (then popularity, then the
newest), so both back ends answer the same pages: SQLite computes it per match and sorts;
PostgreSQL asks one score at a time (:func:`_ranked`), so a common word never means ranking
every course that holds it. No query counts the matches.

A page's cursor is the sort key of its last course, opaque to callers: base64url of
``[sort, key...]``, checked on the way back in (a forged cursor is 422, never a query).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import combinations
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from monetization.marketplace.errors import InvalidCursor
from monetization.marketplace.model import Course, CourseStatus, Level
from monetization.marketplace.store import course_from_row
from monetization.marketplace.tables import (
    CATEGORY_MARK,
    COURSE_COLUMNS,
    FTS_TABLE,
    LANGUAGE_MARK,
    LEVEL_MARK,
    TAG_MARK,
    TITLE_MARK,
    market_course_tags,
    market_courses,
)
from monetization.marketplace.text import check_text, query_words

C = market_courses
SEARCH_LIMIT_MAX = 100
CURSOR_MAX_CHARS = 200
Q_MAX_CHARS = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    RATING = "rating"
    POPULARITY = "popularity"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What ``GET /v1/courses`` asks; ``None`` filters nothing. Prices in cents, ratings in
    hundredths (``min_rating=4.5`` is 450: the average, rounded half-even to hundredths)."""

    q: str | None = None
    category: str | None = None
    level: Level | None = None
    language: str | None = None
    instructor_id: str | None = None
    tag: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    free: bool | None = None
    min_rating_centi: int | None = None
    sort: Sort | None = None
    limit: int = 20
    cursor: str | None = None

    def effective_sort(self, has_words: bool) -> Sort:
        """Relevance needs words to rank by; without them it is the newest first."""
        sort = self.sort or (Sort.RELEVANCE if has_words else Sort.NEWEST)
        return Sort.NEWEST if sort is Sort.RELEVANCE and not has_words else sort


@dataclass(frozen=True, slots=True)
class CoursePage:
    data: list[Course]
    next_cursor: str | None


def _micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class CourseSearch:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    def search(self, query: SearchQuery) -> CoursePage:
        assert 1 <= query.limit <= SEARCH_LIMIT_MAX, query.limit
        found = query_words(check_text(query.q, "q", Q_MAX_CHARS)) if query.q else []
        sort = query.effective_sort(bool(found))
        after = decode_cursor(query.cursor, sort) if query.cursor is not None else None
        # PostgreSQL finds the tag in the word vector (with the words, in one index and its
        # statistics); SQLite in market_course_tags.
        lexemes = _lexemes(found, query) if self.postgres else []
        where = [C.c.status == CourseStatus.PUBLISHED.value, *_filters(query, bool(lexemes))]
        with self.engine.connect() as conn:
            if self.postgres and sort is Sort.RELEVANCE:
                rows = _ranked(conn, where, found, lexemes, after=after, limit=query.limit + 1)
            elif self.postgres and not lexemes:
                rows = _listed(conn, where, sort=sort, after=after, limit=query.limit + 1)
            else:
                rows = self._sorted(
                    conn, where, found, lexemes, sort=sort, after=after, limit=query.limit + 1
                )
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = encode_cursor(sort, _key_of(sort, rows[-1])) if more and rows else None
        return CoursePage([course_from_row(r) for r in rows], next_cursor)

    def _sorted(
        self,
        conn: Connection,
        where: list[ColumnElement[bool]],
        found: list[str],
        lexemes: list[str],
        *,
        sort: Sort,
        after: list[Any] | None,
        limit: int,
    ) -> list[Any]:
        """One query in the sort's order (every sort on SQLite; searches in any sort but
        relevance on PostgreSQL): the planner picks the word index or a walk down the sort's
        index."""
        score = self._score(found) if sort is Sort.RELEVANCE else literal(0, Integer)
        keys = _sort_keys(sort, score)
        stmt: Select[Any] = select(*COURSE_COLUMNS, score.label("score")).where(*where)
        params: dict[str, str] = {}
        if lexemes:
            stmt = stmt.where(_vector_matches())
            params["fts"] = " & ".join(lexemes)
        elif found:
            stmt = stmt.where(
                C.c.num.in_(
                    select(literal_column("rowid"))
                    .select_from(text(FTS_TABLE))
                    .where(text(f"{FTS_TABLE} MATCH :fts"))
                )
            )
            # Words are [a-z0-9] only (text.words): quoting them is all the escaping needed.
            params["fts"] = " ".join(f'"{w}"' for w in found)
        if after is not None:
            stmt = stmt.where(_after(keys, sort, after))
        return list(conn.execute(stmt.order_by(*_order(sort, keys)).limit(limit), params).all())

    def _score(self, found: list[str]) -> ColumnElement[int]:
        """How many query words the title holds (0 without words), SQLite's way."""
        if not found:
            return literal(0, Integer)
        padded = literal(" ") + C.c.title_tokens + literal(" ")
        parts = [case((func.instr(padded, f" {w} ") > 0, 1), else_=0) for w in found]
        total: ColumnElement[int] = parts[0]
        for part in parts[1:]:
            total = total + part
        return total


# --- PostgreSQL's relevance: one score at a time ---------------------------------------------


def _vector_matches() -> ColumnElement[bool]:
    return C.c.search_vector.op("@@")(cast(bindparam("fts"), TSQUERY)).self_group()


def _quoted(lexeme: str) -> str:
    """A ``tsquery`` operand that is exactly ``lexeme`` (quotes doubled, backslashes escaped)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _lexemes(found: list[str], query: SearchQuery) -> list[str]:
    """The ``tsquery`` terms every match holds: the words, and, when the vector is read
    anyway (words or a tag), the tag, category, level and language it marks too, so one
    index scan intersects them all (see :func:`_filters`)."""
    terms = list(found)
    if found or query.tag is not None:
        fields = (
            (TAG_MARK, query.tag),
            (CATEGORY_MARK, query.category),
            (LEVEL_MARK, query.level.value if query.level else None),
            (LANGUAGE_MARK, query.language),
        )
        terms += [mark + value for mark, value in fields if value is not None]
    return [_quoted(t) for t in terms]


def tier_query(found: list[str], score: int, lexemes: list[str]) -> str:
    """The ``tsquery`` of the courses holding every term of ``lexemes`` (the words of
    ``found`` among them) and exactly ``score`` words of ``found`` in the title (title words
    are marked in ``search_vector``, tables.py): one alternative per choice of title words."""
    assert found and 0 <= score <= len(found), (found, score)
    every = " & ".join(lexemes)
    choices = [
        " & ".join(f"'{TITLE_MARK}{w}'" if w in chosen else f"!'{TITLE_MARK}{w}'" for w in found)
        for chosen in combinations(found, score)
    ]
    return f"{every} & ({' | '.join(f'({c})' for c in choices)})"


def _ranked(
    conn: Connection,
    where: list[ColumnElement[bool]],
    found: list[str],
    lexemes: list[str],
    *,
    after: list[Any] | None,
    limit: int,
) -> list[Any]:
    """Relevance on PostgreSQL without ranking every match: the score (how many query words
    the title holds) takes few values, so each is one query in the order of
    ``market_courses_relevance`` with its own ``tsquery``, best score first, until the page
    is full. The planner sees each score's own selectivity (the vector's word statistics)
    and picks the word index for few matches, a walk down the order for many."""
    tail = [C.c.purchase_count, C.c.published_at, C.c.num]
    top = len(found) if after is None else min(int(after[0]), len(found))
    rows: list[Any] = []
    for score in range(top, -1, -1):
        stmt = select(*COURSE_COLUMNS, literal(score, Integer).label("score")).where(
            *where, _vector_matches()
        )
        if after is not None and score == after[0]:
            stmt = stmt.where(tuple_(*tail) < tuple_(*after[1:]))
        stmt = stmt.order_by(*(k.desc() for k in tail)).limit(limit - len(rows))
        rows += conn.execute(stmt, {"fts": tier_query(found, score, lexemes)}).all()
        if len(rows) >= limit:
            break
    return rows


def _listed(
    conn: Connection,
    where: list[ColumnElement[bool]],
    *,
    sort: Sort,
    after: list[Any] | None,
    limit: int,
) -> list[Any]:
    """A listing without words on PostgreSQL: the page's courses are chosen from the sort's
    index alone (its INCLUDE columns answer every column filter: an index-only scan, so a
    rare combination of filters skips index entries, not table rows), then read by key."""
    keys = _sort_keys(sort, literal(0, Integer))
    chosen = select(C.c.num).where(*where)
    if after is not None:
        chosen = chosen.where(_after(keys, sort, after))
    page = chosen.order_by(*_order(sort, keys)).limit(limit).subquery("page")
    shown = C.alias("shown")
    stmt = (
        select(*(shown.c[c.name] for c in COURSE_COLUMNS), literal(0, Integer).label("score"))
        .select_from(shown.join(page, shown.c.num == page.c.num))
        .order_by(*_order(sort, [shown.c[k.name] for k in keys]))
    )
    return list(conn.execute(stmt).all())


# --- filters and sort keys ---------------------------------------------------------------------


def _filters(query: SearchQuery, in_vector: bool) -> list[ColumnElement[bool]]:
    """Every filter but the words, and but those the word vector answers (``in_vector``:
    the tag, category, level and language, see :func:`_lexemes`)."""
    where: list[ColumnElement[bool]] = []
    fields = [(C.c.instructor_id, query.instructor_id)]
    if not in_vector:
        fields += [
            (C.c.category, query.category),
            (C.c.level, query.level.value if query.level else None),
            (C.c.language, query.language),
        ]
    for column, value in fields:
        if value is not None:
            where.append(column == value)
    if query.tag is not None and not in_vector:
        tags = market_course_tags
        where.append(C.c.num.in_(select(tags.c.course_num).where(tags.c.tag == query.tag)))
    if query.min_price is not None:
        where.append(C.c.price_cents >= query.min_price)
    if query.max_price is not None:
        where.append(C.c.price_cents <= query.max_price)
    if query.free is not None:
        where.append(C.c.price_cents == 0 if query.free else C.c.price_cents > 0)
    if query.min_rating_centi is not None:
        where.append(C.c.rating_centi >= query.min_rating_centi)
    return where


def _sort_keys(sort: Sort, score: ColumnElement[int]) -> list[ColumnElement[Any]]:
    keys: dict[Sort, list[ColumnElement[Any]]] = {
        Sort.RELEVANCE: [score, C.c.purchase_count, C.c.published_at, C.c.num],
        Sort.NEWEST: [C.c.published_at, C.c.num],
        Sort.PRICE_ASC: [C.c.price_cents, C.c.num],
        Sort.PRICE_DESC: [C.c.price_cents, C.c.num],
        Sort.RATING: [C.c.rating_centi, C.c.rating_count, C.c.num],
        Sort.POPULARITY: [C.c.purchase_count, C.c.num],
    }
    return keys[sort]


# Which positions of each sort key are instants (kept in a cursor as microseconds).
_INSTANT_AT = {Sort.RELEVANCE: 2, Sort.NEWEST: 0}
_KEY_LENGTH = {
    Sort.RELEVANCE: 4,
    Sort.NEWEST: 2,
    Sort.PRICE_ASC: 2,
    Sort.PRICE_DESC: 2,
    Sort.RATING: 3,
    Sort.POPULARITY: 2,
}


def _order(sort: Sort, keys: list[ColumnElement[Any]]) -> list[ColumnElement[Any]]:
    return [k.asc() if sort is Sort.PRICE_ASC else k.desc() for k in keys]


def _key_of(sort: Sort, row: Any) -> list[int]:
    values: list[Any] = {
        Sort.RELEVANCE: [row.score, row.purchase_count, row.published_at, row.num],
        Sort.NEWEST: [row.published_at, row.num],
        Sort.PRICE_ASC: [row.price_cents, row.num],
        Sort.PRICE_DESC: [row.price_cents, row.num],
        Sort.RATING: [row.rating_centi, row.rating_count, row.num],
        Sort.POPULARITY: [row.purchase_count, row.num],
    }[sort]
    return [_micros(v) if isinstance(v, datetime) else int(v) for v in values]


def _after(keys: list[ColumnElement[Any]], sort: Sort, after: list[Any]) -> ColumnElement[bool]:
    """Rows strictly past ``after`` in the sort's order (a row-value comparison)."""
    if sort is Sort.PRICE_ASC:
        return tuple_(*keys) > tuple_(*after)
    return tuple_(*keys) < tuple_(*after)


def encode_cursor(sort: Sort, key: list[int]) -> str:
    raw = json.dumps([sort.value, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, sort: Sort) -> list[Any]:
    """The sort key a cursor holds, as values to compare with; :class:`InvalidCursor` for
    anything this listing did not give out (another sort, a forged shape)."""
    bad = InvalidCursor("cursor must be a next_cursor of this same listing")
    if len(cursor) > CURSOR_MAX_CHARS or not cursor.isascii():
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(decoded, list) or not decoded or decoded[0] != sort.value:
        raise bad
    key = decoded[1:]
    if len(key) != _KEY_LENGTH[sort] or not all(type(v) is int and 0 <= v < 2**63 for v in key):
        raise bad
    instant = _INSTANT_AT.get(sort)
    if instant is not None:
        try:
            key[instant] = _from_micros(key[instant])
        except OverflowError:
            raise bad from None
    return key
