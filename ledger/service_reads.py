"""The ledger's reads for listings, projections and lookups: the only way domains read
the journal (a part of :class:`~ledger.service.Ledger`)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import Engine

from ledger import listing, reads
from ledger.listing import EntryFilter
from ledger.model import (
    Account,
    Balance,
    Entry,
    EntryType,
    HistoryLine,
    HoldStatus,
    LineTotal,
    Period,
)


class JournalReads:
    """Listings of accounts and entries, and the reads projections and lookups need."""

    engine: Engine

    def list_accounts(
        self,
        *,
        prefix: str = "",
        asset: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[tuple[Account, Balance]]:
        """Accounts in id order with their balances (:func:`ledger.listing.list_accounts`)."""
        with self.engine.connect() as conn:
            return listing.list_accounts(
                conn, prefix=prefix, asset=asset, after_id=after_id, limit=limit
            )

    def list_entries(self, selection: EntryFilter, *, limit: int = 100) -> list[Entry]:
        """Entries newest first (see :func:`ledger.listing.list_entries`)."""
        with self.engine.connect() as conn:
            return listing.list_entries(conn, selection, limit)

    def hold_statuses(self, hold_ids: Collection[str]) -> dict[str, HoldStatus]:
        """The current status of each of ``hold_ids`` (at most 500)."""
        with self.engine.connect() as conn:
            return listing.hold_statuses(conn, hold_ids)

    # --- reading for projections and lookups (domains read the journal only here) -------

    def head_seq(self) -> int:
        """The seq of the last committed entry; every entry up to it is committed."""
        with self.engine.connect() as conn:
            return reads.head_seq(conn)

    def events(
        self,
        after_seq: int,
        limit: int,
        kinds: Sequence[str] | None = None,
        *,
        types: Collection[EntryType] | None = None,
        up_to_seq: int | None = None,
    ) -> list[Entry]:
        """Journal events (entries, holds, resolutions) with ``seq > after_seq`` in seq
        order, at most ``limit`` (<= 10,000).

        ``kinds``: exact kinds or prefixes ending in ``.*`` (``"reward.earned.*"`` is every
        kind below ``reward.earned``); ``types``: only these entry types; ``up_to_seq``: stop
        there (a projector passes the ``head_seq()`` it read, so that a short page means
        "caught up to that head" even when ``kinds`` skips most events).
        """
        with self.engine.connect() as conn:
            return reads.events(conn, after_seq, limit, kinds, types=types, up_to_seq=up_to_seq)

    def entry_by_key(self, principal: str, key: str) -> Entry | None:
        """The entry ``principal`` recorded with idempotency ``key``, or None."""
        with self.engine.connect() as conn:
            return reads.entry_by_key(conn, principal, key)

    def entries_by_ids(self, ids: Collection[str]) -> dict[str, Entry]:
        """The entries among ``ids`` (at most 1,000) that exist, by id."""
        with self.engine.connect() as conn:
            return reads.entries_with_ids(conn, ids)

    def lines(
        self,
        *,
        account_prefix: str,
        kinds: Sequence[str],
        up_to_seq: int,
        account_suffix: str = "",
    ) -> Iterator[HistoryLine]:
        """Stream the history lines of accounts ``prefix…suffix`` whose kind matches
        ``kinds``, up to ``up_to_seq``, in no set order: a reference read for checking a
        projection independently. Close the iterator (or exhaust it) to free its connection.
        """
        return reads.lines(
            self.engine,
            account_prefix=account_prefix,
            kinds=kinds,
            up_to_seq=up_to_seq,
            account_suffix=account_suffix,
        )

    def line_totals(
        self,
        *,
        account_prefix: str,
        kinds: Sequence[str],
        up_to_seq: int,
        per: Period = Period.ALL,
        account_suffix: str = "",
    ) -> Iterator[LineTotal]:
        """The lines :meth:`lines` streams, summed per account and UTC period ``per`` of
        their ``effective_at`` (zero totals left out, no set order): what a projection
        rebuilds itself from without reading every line. Close or exhaust the iterator.
        """
        return reads.line_totals(
            self.engine,
            account_prefix=account_prefix,
            kinds=kinds,
            up_to_seq=up_to_seq,
            per=per,
            account_suffix=account_suffix,
        )
