"""Table definitions of the marketplace; the schema itself is migrations ``0040_marketplace``
and ``0100_market_search``.

No journal table here: money moves in the ledger (``marketplace.sale``, ``.refund``,
``.release``, ``.clawback``, ``.payout``). Personal text (review texts, file names) lives
only here, where it can be erased, never in ledger metadata.

Full-text search: ``search_tokens`` holds a course's words as made by
:func:`monetization.marketplace.text.document`, ``title_tokens`` those of its title.
PostgreSQL keeps them in ``search_vector``, a stored generated ``tsvector``: every word, and
every title word once more behind :data:`TITLE_MARK` (``@python``: "python" is in the title)
every tag behind :data:`TAG_MARK` (``#ml-ops``) and the category, level and language
(``category=music``), so words, ranking and those filters read one column, one GIN index and
its statistics (no vector is rebuilt per row). On SQLite the
column is a virtual ``NULL``: the FTS5 table ``market_courses_fts`` (external content, kept
in step by triggers) holds the words, ``market_course_tags`` the tags. The FTS5 table and
its shadow tables are not declared here; they are listed in :data:`SQLITE_SEARCH_TABLES`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from ledger import UTCDateTime

metadata = MetaData()

FTS_TABLE = "market_courses_fts"
SQLITE_SEARCH_TABLES = (
    FTS_TABLE,
    *(f"{FTS_TABLE}_{s}" for s in ("config", "data", "docsize", "idx")),
)
# Words are [a-z0-9] only (text.words): a mark outside that alphabet never makes a word.
TITLE_MARK = "@"  # "@python": python is a word of the title
TAG_MARK = "#"  # "#ml-ops": the course has the tag ml-ops (tags are slugs: [a-z0-9_.-])
CATEGORY_MARK = "category="
LEVEL_MARK = "level="
LANGUAGE_MARK = "language="
# PostgreSQL's expression (migration 0041 spells the same): the words, the title's words
# marked, the tags (from the JSON list's text: slugs need no escaping) marked, the category,
# level and language, one space apart.
SEARCH_VECTOR_SQL = (
    "array_to_tsvector(string_to_array(btrim(regexp_replace(search_tokens"
    f" || ' ' || regexp_replace(title_tokens, '(\\S+)', '{TITLE_MARK}\\1', 'g')"
    " || ' ' || regexp_replace(regexp_replace(tags::text, '[^a-z0-9_.-]+', ' ', 'g'),"
    f" '([a-z0-9_.-]+)', '{TAG_MARK}\\1', 'g')"
    f" || ' {CATEGORY_MARK}' || category || ' {LEVEL_MARK}' || level"
    f" || ' {LANGUAGE_MARK}' || language, ' +', ' ', 'g')), ' '))"
)
_PUBLISHED = text("status = 'published'")
_BUSY = text("status IN ('pending', 'refunding', 'releasing')")
_DUE = text("status = 'completed' AND price_cents > 0")
_HOLDS_SLOT = text("status <> 'refunded'")

market_courses = Table(
    "market_courses",
    metadata,
    # The integer key is the FTS5 rowid on SQLite (INTEGER PRIMARY KEY: stable across VACUUM).
    Column(
        "num", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(36), nullable=False, unique=True),
    Column("instructor_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("language", String(35), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("search_tokens", Text, nullable=False),
    Column("title_tokens", Text, nullable=False),
    Column(
        "search_vector",
        TSVECTOR().with_variant(Text(), "sqlite"),
        Computed(text(SEARCH_VECTOR_SQL), persisted=True),
    ),
    Column("rating_sum", BigInteger, nullable=False),
    Column("rating_count", BigInteger, nullable=False),
    Column("rating_centi", Integer, nullable=False),
    Column("purchase_count", BigInteger, nullable=False),
    Column("material_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
    Column("version", Integer, nullable=False),
    CheckConstraint(
        "status IN ('draft', 'published', 'unpublished')", name="market_courses_status"
    ),
    CheckConstraint(
        "level IN ('beginner', 'intermediate', 'advanced')", name="market_courses_level"
    ),
    CheckConstraint(
        "price_cents >= 0 AND rating_sum >= 0 AND rating_count >= 0 AND purchase_count >= 0 "
        "AND rating_centi BETWEEN 0 AND 500 AND material_count >= 0",
        name="market_courses_counts",
    ),
)
C = market_courses
# Each sort's index also holds the column filters of a listing (search.py's _filters) on
# PostgreSQL, so a listing picks its page by an index-only scan (search.py's _listed).
_WITH_FILTERS = ("category", "level", "language", "price_cents", "rating_centi")


def _filters_but(*keys: str) -> list[str]:
    return [c for c in _WITH_FILTERS if c not in keys]


Index(
    "market_courses_newest",
    C.c.published_at,
    C.c.num,
    postgresql_include=_filters_but(),
    postgresql_where=_PUBLISHED,
    sqlite_where=_PUBLISHED,
)
Index(
    "market_courses_price",
    C.c.price_cents,
    C.c.num,
    postgresql_include=_filters_but("price_cents"),
    postgresql_where=_PUBLISHED,
    sqlite_where=_PUBLISHED,
)
Index(
    "market_courses_rating",
    C.c.rating_centi,
    C.c.rating_count,
    C.c.num,
    postgresql_include=_filters_but("rating_centi"),
    postgresql_where=_PUBLISHED,
    sqlite_where=_PUBLISHED,
)
Index(
    "market_courses_popular",
    C.c.purchase_count,
    C.c.num,
    postgresql_include=_filters_but(),
    postgresql_where=_PUBLISHED,
    sqlite_where=_PUBLISHED,
)
Index(
    "market_courses_category",
    C.c.category,
    C.c.published_at,
    C.c.num,
    postgresql_where=_PUBLISHED,
    sqlite_where=_PUBLISHED,
)
Index("market_courses_instructor", C.c.instructor_id, C.c.created_at)
# PostgreSQL's full-text index (SQLite has the FTS5 table instead) and the order relevance
# walks within one score (see search.py).
Index(
    "market_courses_words",
    C.c.search_vector,
    postgresql_using="gin",
    postgresql_where=_PUBLISHED,
).ddl_if(dialect="postgresql")
Index(
    "market_courses_relevance",
    C.c.purchase_count,
    C.c.published_at,
    C.c.num,
    postgresql_where=_PUBLISHED,
).ddl_if(dialect="postgresql")
# What a course read returns: every column but the search words (large, and never shown).
COURSE_COLUMNS = tuple(
    c for c in C.c if c.name not in ("search_tokens", "title_tokens", "search_vector")
)

market_course_tags = Table(
    "market_course_tags",
    metadata,
    Column("tag", String(64), primary_key=True),
    Column("course_num", BigInteger, ForeignKey("market_courses.num"), primary_key=True),
)
Index("market_course_tags_by_course", market_course_tags.c.course_num)

market_instructors = Table(
    "market_instructors",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("published_count", Integer, nullable=False),
    # Held while the instructor's receivable is being repaid (one settlement at a time).
    Column("settle_lease_until", UTCDateTime),
    CheckConstraint("published_count >= 0", name="market_instructors_published"),
)

market_materials = Table(
    "market_materials",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("course_id", String(36), ForeignKey("market_courses.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("market_materials_by_course", market_materials.c.course_id, market_materials.c.created_at)

market_purchases = Table(
    "market_purchases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("course_id", String(36), ForeignKey("market_courses.id"), nullable=False),
    Column("buyer_id", String(64), nullable=False),
    Column("instructor_id", String(64), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("instructor_share_cents", BigInteger, nullable=False),
    Column("platform_share_cents", BigInteger, nullable=False),
    Column("instructor_plan", String(32), nullable=False),
    Column("instructor_pct", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("payment_method", String(64), nullable=False),
    Column("principal", String(128), nullable=False),
    Column("request_key", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("entry_id", String(64)),
    Column("charge_id", String(255)),
    Column("refund_entry_id", String(64)),
    Column("clawback_entry_id", String(64)),
    Column("release_entry_id", String(64)),
    Column("after_window", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("refundable_until", UTCDateTime, nullable=False),
    Column("refunded_at", UTCDateTime),
    Column("released_at", UTCDateTime),
    UniqueConstraint("principal", "request_key", name="market_purchases_request"),
    CheckConstraint(
        "status IN ('pending', 'completed', 'refunding', 'refunded', 'releasing', 'released')",
        name="market_purchases_status",
    ),
    CheckConstraint(
        "price_cents >= 0 AND instructor_share_cents >= 0 AND platform_share_cents >= 0 "
        "AND instructor_share_cents + platform_share_cents = price_cents",
        name="market_purchases_split",
    ),
)
Pu = market_purchases
# One purchase per buyer and course, unless it was refunded (then it may be bought again).
Index(
    "market_purchases_one_active",
    Pu.c.course_id,
    Pu.c.buyer_id,
    unique=True,
    postgresql_where=_HOLDS_SLOT,
    sqlite_where=_HOLDS_SLOT,
)
Index("market_purchases_by_buyer", Pu.c.buyer_id, Pu.c.created_at, Pu.c.id)
Index("market_purchases_by_instructor", Pu.c.instructor_id, Pu.c.course_id)
Index("market_purchases_due", Pu.c.refundable_until, postgresql_where=_DUE, sqlite_where=_DUE)
Index("market_purchases_busy", Pu.c.updated_at, postgresql_where=_BUSY, sqlite_where=_BUSY)

market_reviews = Table(
    "market_reviews",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("course_id", String(36), ForeignKey("market_courses.id"), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("rating", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("reply_text", Text),
    Column("reply_author_id", String(64)),
    Column("replied_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("course_id", "author_id", name="market_reviews_one_per_buyer"),
    CheckConstraint("rating BETWEEN 1 AND 5", name="market_reviews_rating"),
)
Index(
    "market_reviews_by_course",
    market_reviews.c.course_id,
    market_reviews.c.created_at,
    market_reviews.c.id,
)

market_payouts = Table(
    "market_payouts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("instructor_id", String(64), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("hold_entry_id", String(64)),
    Column("principal", String(128), nullable=False),
    Column("request_key", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("principal", "request_key", name="market_payouts_request"),
    CheckConstraint("status IN ('requested', 'completed', 'failed')", name="market_payouts_status"),
    CheckConstraint("amount_cents > 0", name="market_payouts_amount"),
)
Index(
    "market_payouts_by_instructor",
    market_payouts.c.instructor_id,
    market_payouts.c.created_at,
    market_payouts.c.id,
)
