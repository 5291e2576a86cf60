"""Every table the code declares, gathered in one :class:`MetaData` (for the check that
the migrations and the declarations agree, and for tools that need the whole schema)."""

from __future__ import annotations

from sqlalchemy import MetaData

from api.keystore import metadata as api_tables
from api.ratestore import metadata as rate_tables
from chain.tables import metadata as chain_tables
from ledger.store.tables import metadata as ledger_tables
from monetization.billing.tables import metadata as billing_tables
from monetization.licensing.tables import metadata as licensing_tables
from monetization.marketplace.tables import SQLITE_SEARCH_TABLES
from monetization.marketplace.tables import metadata as marketplace_tables
from monetization.payments.tables import metadata as payments_tables
from monetization.rewards.tables import metadata as rewards_tables
from monetization.webhooks.tables import metadata as webhooks_tables

DECLARED = (
    ledger_tables,
    api_tables,
    rate_tables,
    chain_tables,
    rewards_tables,
    billing_tables,
    payments_tables,
    marketplace_tables,
    licensing_tables,
    webhooks_tables,
)

# Tables a back end keeps for itself, derived from declared ones (never declared: SQLite's
# FTS5 search index and its shadow tables, rebuilt from ``market_courses``).
DERIVED_TABLES: dict[str, frozenset[str]] = {"sqlite": frozenset(SQLITE_SEARCH_TABLES)}


def derived_tables(dialect: str) -> frozenset[str]:
    return DERIVED_TABLES.get(dialect, frozenset())


def built_on(item: object, dialect: str) -> bool:
    """Whether a declared index exists on ``dialect``: ``Index(...).ddl_if(dialect=...)``
    names the one back end it is built on (PostgreSQL's GIN word index, for one)."""
    only = getattr(item, "_ddl_if", None)  # set by ddl_if(); None: every back end
    if only is None or only.dialect is None:
        return True
    wanted = only.dialect
    return dialect == wanted if isinstance(wanted, str) else dialect in wanted


def declared_metadata() -> MetaData:
    combined = MetaData()
    for metadata in DECLARED:
        for table in metadata.tables.values():
            copy = table.to_metadata(combined)
            # to_metadata() drops ddl_if(): carry over which back end an index is built on.
            copies = {index.name: index for index in copy.indexes}
            for index in table.indexes:
                only = getattr(index, "_ddl_if", None)
                if only is not None:
                    copies[index.name].ddl_if(only.dialect, only.callable_, only.state)
    return combined
