"""Course search at scale: a stored word vector on PostgreSQL, ranked within one score.

Revision ID: 0100_market_search
Revises: 0050_licensing
Create Date: 2026-12-02

PostgreSQL: ``search_vector`` is a stored generated ``tsvector`` holding every word of the
course, every word of its title once more behind ``@`` (``@python``), every tag behind
``#`` (``#ml-ops``), and the category, level and language (``category=music``), so a
search, its ranking and those filters read one column and one GIN index (partial: published
courses), and ANALYZE keeps per-word statistics the planner needs to choose between the
index and a walk in sort order. The expression index of 0040, which rebuilt the vector for
every row it looked at, goes.
``market_courses_relevance`` is the order relevance walks within one score. The sort
indexes hold the column filters of a listing (INCLUDE), for index-only listings.

SQLite: FTS5 keeps the words as before; the column exists as a virtual ``NULL`` so both back
ends have the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100_market_search"
down_revision: str | Sequence[str] | None = "0090_unfunded_alert"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = "status = 'published'"
PG_VECTOR = (
    "ALTER TABLE market_courses ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "array_to_tsvector(string_to_array(btrim(regexp_replace(search_tokens"
    r" || ' ' || regexp_replace(title_tokens, '(\S+)', '@\1', 'g')"
    " || ' ' || regexp_replace(regexp_replace(tags::text, '[^a-z0-9_.-]+', ' ', 'g'),"
    r" '([a-z0-9_.-]+)', '#\1', 'g')"
    " || ' category=' || category || ' level=' || level"
    " || ' language=' || language, ' +', ' ', 'g')), ' '))) STORED"
)
FILTERS = ("category", "level", "language", "price_cents", "rating_centi")
# The sort indexes of 0040, now holding the column filters of a listing (INCLUDE): a
# listing picks its page by an index-only scan.
SORT_INDEXES = {
    "market_courses_newest": ("published_at", "num"),
    "market_courses_price": ("price_cents", "num"),
    "market_courses_rating": ("rating_centi", "rating_count", "num"),
    "market_courses_popular": ("purchase_count", "num"),
}


def _sort_index(name: str, keys: tuple[str, ...], *, include: bool) -> list[str]:
    extra = [c for c in FILTERS if c not in keys]
    including = f" INCLUDE ({', '.join(extra)})" if include else ""
    return [
        f"DROP INDEX IF EXISTS {name}",
        f"CREATE INDEX {name} ON market_courses ({', '.join(keys)}){including} WHERE {PUBLISHED}",
    ]


PG_UPGRADE = [
    PG_VECTOR,
    "DROP INDEX IF EXISTS market_courses_search",
    "CREATE INDEX market_courses_words ON market_courses USING gin (search_vector) "
    f"WHERE {PUBLISHED}",
    "CREATE INDEX market_courses_relevance ON market_courses "
    f"(purchase_count, published_at, num) WHERE {PUBLISHED}",
    "ANALYZE market_courses",
]
PG_DOWNGRADE = [
    "DROP INDEX IF EXISTS market_courses_relevance",
    "DROP INDEX IF EXISTS market_courses_words",
    "ALTER TABLE market_courses DROP COLUMN IF EXISTS search_vector",
    "CREATE INDEX market_courses_search ON market_courses USING gin "
    "(array_to_tsvector(string_to_array(search_tokens, ' ')))",
]
SQLITE_UPGRADE = [
    "ALTER TABLE market_courses ADD COLUMN search_vector TEXT GENERATED ALWAYS AS (NULL) VIRTUAL"
]
SQLITE_DOWNGRADE = ["ALTER TABLE market_courses DROP COLUMN search_vector"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(sa.text(statement))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name, keys in SORT_INDEXES.items():
            _run(_sort_index(name, keys, include=True))
        _run(PG_UPGRADE)
    elif dialect == "sqlite":
        _run(SQLITE_UPGRADE)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(PG_DOWNGRADE)
        for name, keys in SORT_INDEXES.items():
            _run(_sort_index(name, keys, include=False))
    elif dialect == "sqlite":
        _run(SQLITE_DOWNGRADE)
