"""Table definitions used to build queries. The schema itself comes from ``migrations/``.

Journal tables (append-only, guarded by triggers): ``accounts``, ``entries``,
``entry_lines``. Projections (rewritten in the same transaction, rebuildable from the
journal): ``balances`` and ``journal_head``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ledger.store.types import Amount, UTCDateTime

metadata = MetaData()

JOURNAL_TABLES = ("accounts", "entries", "entry_lines", "token_leaves", "merkle_nodes")

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("asset", String(16), nullable=False),
    Column("allow_negative", Boolean, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("accounts_asset_id", "asset", "id"),  # GET /v1/accounts?asset=
)

entries = Table(
    "entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(64), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    # Canonical JSON of the postings (amounts as integer strings).
    Column("postings", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("effective_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("hold_id", String(64), unique=True),  # a hold resolves exactly once
    Column("reverses_id", String(64), unique=True),  # an entry is reversed at most once
    Column("principal", String(128)),
    Column("idempotency_key", String(128)),
    Column("fingerprint", String(64)),
    Column("hash", LargeBinary(32), nullable=False),
    UniqueConstraint("idempotency_key", "principal", name="entries_idempotency"),
    Index(
        "entries_open_hold_deadline",
        "expires_at",
        postgresql_where=text("type = 'pending'"),
        sqlite_where=text("type = 'pending'"),
    ),
    # GET /v1/entries?kind= and ?since=&until= across every account (0080_list_indexes)
    Index("entries_kind_seq", "kind", "seq"),
    Index("entries_effective_at", "effective_at"),
)

entry_lines = Table(
    "entry_lines",
    metadata,
    Column("account_id", String(128), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_id", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("balance_after", Amount, nullable=False),
    Column("effective_at", UTCDateTime, nullable=False),
    Index("entry_lines_account_kind_time", "account_id", "kind", "effective_at"),
)

balances = Table(
    "balances",
    metadata,
    Column("account_id", String(128), primary_key=True),
    Column("asset", String(16), nullable=False),
    Column("allow_negative", Boolean, nullable=False),
    Column("balance", Amount, nullable=False),
    Column("pending_out", Amount, nullable=False),
    Column("pending_in", Amount, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)

journal_head = Table(
    "journal_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
)

token_leaves = Table(
    "token_leaves",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("entry_id", String(64), nullable=False, unique=True),
    Column("leaf", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
)

# Hashes of the perfect subtrees of the token log's Merkle tree: (level, idx) covers leaves
# [idx * 2**level, (idx + 1) * 2**level). Written once, as the log grows; every proof and
# every past root is a handful of lookups here.
merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
