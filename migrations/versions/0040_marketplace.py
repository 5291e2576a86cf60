"""Marketplace: courses (with their full-text index), tags, materials, purchases, reviews,
payouts and the published-course counters of instructors.

Revision ID: 0040_marketplace
Revises: 0011_payments
Create Date: 2026-12-04

Full text: PostgreSQL gets a GIN index over the course's words (``search_tokens``, made by
the application so both back ends index exactly the same words); SQLite an FTS5 table with
external content, kept in step with ``market_courses`` by triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.frozen import UTC_DATETIME

revision: str = "0040_marketplace"
down_revision: str | Sequence[str] | None = "0011_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = UTC_DATETIME
PUBLISHED = sa.text("status = 'published'")
BUSY = sa.text("status IN ('pending', 'refunding', 'releasing')")
DUE = sa.text("status = 'completed' AND price_cents > 0")
HOLDS_SLOT = sa.text("status <> 'refunded'")
FTS = "market_courses_fts"
SQLITE_FTS = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_tokens, content='market_courses', "
    "content_rowid='num', tokenize='ascii')",
    f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON market_courses BEGIN "
    f"INSERT INTO {FTS}(rowid, search_tokens) VALUES (new.num, new.search_tokens); END",
    f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON market_courses BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_tokens) VALUES ('delete', old.num, "
    "old.search_tokens); END",
    f"CREATE TRIGGER {FTS}_update AFTER UPDATE OF search_tokens ON market_courses BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_tokens) VALUES ('delete', old.num, "
    f"old.search_tokens); INSERT INTO {FTS}(rowid, search_tokens) VALUES (new.num, "
    "new.search_tokens); END",
]
PG_SEARCH_INDEX = (
    "CREATE INDEX market_courses_search ON market_courses USING gin "
    "(array_to_tsvector(string_to_array(search_tokens, ' ')))"
)


def _published_index(name: str, *columns: str) -> None:
    op.create_index(
        name, "market_courses", list(columns), postgresql_where=PUBLISHED, sqlite_where=PUBLISHED
    )


def _courses() -> None:
    op.create_table(
        "market_courses",
        sa.Column(
            "num",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("instructor_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("search_tokens", sa.Text, nullable=False),
        sa.Column("title_tokens", sa.Text, nullable=False),
        sa.Column("rating_sum", sa.BigInteger, nullable=False),
        sa.Column("rating_count", sa.BigInteger, nullable=False),
        sa.Column("rating_centi", sa.Integer, nullable=False),
        sa.Column("purchase_count", sa.BigInteger, nullable=False),
        sa.Column("material_count", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("published_at", TS),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'unpublished')", name="market_courses_status"
        ),
        sa.CheckConstraint(
            "level IN ('beginner', 'intermediate', 'advanced')", name="market_courses_level"
        ),
        sa.CheckConstraint(
            "price_cents >= 0 AND rating_sum >= 0 AND rating_count >= 0 AND purchase_count >= 0 "
            "AND rating_centi BETWEEN 0 AND 500 AND material_count >= 0",
            name="market_courses_counts",
        ),
    )
    _published_index("market_courses_newest", "published_at", "num")
    _published_index("market_courses_price", "price_cents", "num")
    _published_index("market_courses_rating", "rating_centi", "rating_count", "num")
    _published_index("market_courses_popular", "purchase_count", "num")
    _published_index("market_courses_category", "category", "published_at", "num")
    op.create_index("market_courses_instructor", "market_courses", ["instructor_id", "created_at"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_SEARCH_INDEX)
    elif dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    op.create_table(
        "market_course_tags",
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column(
            "course_num", sa.BigInteger, sa.ForeignKey("market_courses.num"), primary_key=True
        ),
    )
    op.create_index("market_course_tags_by_course", "market_course_tags", ["course_num"])
    op.create_table(
        "market_instructors",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("published_count", sa.Integer, nullable=False),
        sa.Column("settle_lease_until", TS),
        sa.CheckConstraint("published_count >= 0", name="market_instructors_published"),
    )
    op.create_table(
        "market_materials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("market_courses.id"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("market_materials_by_course", "market_materials", ["course_id", "created_at"])


def _purchases() -> None:
    op.create_table(
        "market_purchases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("market_courses.id"), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("instructor_id", sa.String(64), nullable=False),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("instructor_share_cents", sa.BigInteger, nullable=False),
        sa.Column("platform_share_cents", sa.BigInteger, nullable=False),
        sa.Column("instructor_plan", sa.String(32), nullable=False),
        sa.Column("instructor_pct", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_method", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(128), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64)),
        sa.Column("charge_id", sa.String(255)),
        sa.Column("refund_entry_id", sa.String(64)),
        sa.Column("clawback_entry_id", sa.String(64)),
        sa.Column("release_entry_id", sa.String(64)),
        sa.Column("after_window", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("refundable_until", TS, nullable=False),
        sa.Column("refunded_at", TS),
        sa.Column("released_at", TS),
        sa.UniqueConstraint("principal", "request_key", name="market_purchases_request"),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'refunding', 'refunded', 'releasing', 'released')",
            name="market_purchases_status",
        ),
        sa.CheckConstraint(
            "price_cents >= 0 AND instructor_share_cents >= 0 AND platform_share_cents >= 0 "
            "AND instructor_share_cents + platform_share_cents = price_cents",
            name="market_purchases_split",
        ),
    )
    op.create_index(
        "market_purchases_one_active",
        "market_purchases",
        ["course_id", "buyer_id"],
        unique=True,
        postgresql_where=HOLDS_SLOT,
        sqlite_where=HOLDS_SLOT,
    )
    op.create_index(
        "market_purchases_by_buyer", "market_purchases", ["buyer_id", "created_at", "id"]
    )
    op.create_index(
        "market_purchases_by_instructor", "market_purchases", ["instructor_id", "course_id"]
    )
    op.create_index(
        "market_purchases_due",
        "market_purchases",
        ["refundable_until"],
        postgresql_where=DUE,
        sqlite_where=DUE,
    )
    op.create_index(
        "market_purchases_busy",
        "market_purchases",
        ["updated_at"],
        postgresql_where=BUSY,
        sqlite_where=BUSY,
    )


def _reviews_and_payouts() -> None:
    op.create_table(
        "market_reviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("market_courses.id"), nullable=False),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("reply_text", sa.Text),
        sa.Column("reply_author_id", sa.String(64)),
        sa.Column("replied_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("course_id", "author_id", name="market_reviews_one_per_buyer"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="market_reviews_rating"),
    )
    op.create_index("market_reviews_by_course", "market_reviews", ["course_id", "created_at", "id"])
    op.create_table(
        "market_payouts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("instructor_id", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_entry_id", sa.String(64)),
        sa.Column("principal", sa.String(128), nullable=False),
        sa.Column("request_key", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.UniqueConstraint("principal", "request_key", name="market_payouts_request"),
        sa.CheckConstraint(
            "status IN ('requested', 'completed', 'failed')", name="market_payouts_status"
        ),
        sa.CheckConstraint("amount_cents > 0", name="market_payouts_amount"),
    )
    op.create_index(
        "market_payouts_by_instructor", "market_payouts", ["instructor_id", "created_at", "id"]
    )


def upgrade() -> None:
    _courses()
    _purchases()
    _reviews_and_payouts()


def downgrade() -> None:
    for table in (
        "market_payouts",
        "market_reviews",
        "market_purchases",
        "market_materials",
        "market_instructors",
        "market_course_tags",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":
        for suffix in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    op.drop_table("market_courses")
