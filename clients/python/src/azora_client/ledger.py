"""Accounts, entries (one or a batch), holds, history and the lists of both."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from azora_client.errors import error_for
from azora_client.models import (
    Account,
    BatchResult,
    Entry,
    HistoryLine,
    Hold,
    NewEntry,
    Page,
    Posting,
    decode,
    new_idempotency_key,
)
from azora_client.transport import Transport, replayed

PAGE_MAX = 500


class LedgerCalls:
    """``/v1/accounts`` and ``/v1/entries``."""

    _t: Transport

    # accounts

    def create_account(
        self,
        account_id: str,
        asset: str,
        *,
        allow_negative: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> Account:
        """Open an account; an identical one that exists is returned as is."""
        body = {
            "id": account_id,
            "asset": asset,
            "allow_negative": allow_negative,
            "metadata": dict(metadata or {}),
        }
        return Account.from_json(self._t.call("POST", "/v1/accounts", json=body).json())

    def get_account(self, account_id: str) -> Account:
        return Account.from_json(self._t.call("GET", f"/v1/accounts/{account_id}").json())

    def list_accounts(
        self,
        *,
        prefix: str | None = None,
        asset: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Account]:
        """Accounts in id order (a user token: its own), with their balances."""
        params = {"prefix": prefix, "asset": asset, "limit": limit, "cursor": cursor}
        data = self._t.call("GET", "/v1/accounts", params=params).json()
        return Page(tuple(Account.from_json(a) for a in data["data"]), data["next_cursor"])

    def iter_accounts(
        self, *, prefix: str | None = None, asset: str | None = None, page_size: int = PAGE_MAX
    ) -> Iterator[Account]:
        cursor: str | None = None
        while True:
            page = self.list_accounts(prefix=prefix, asset=asset, limit=page_size, cursor=cursor)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def history(
        self, account_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[HistoryLine]:
        """The account's lines, newest first, each with the balance after it."""
        params = {"limit": limit, "cursor": cursor}
        data = self._t.call("GET", f"/v1/accounts/{account_id}/entries", params=params).json()
        return Page(tuple(decode(HistoryLine, d) for d in data["data"]), data["next_cursor"])

    def iter_history(self, account_id: str, *, page_size: int = PAGE_MAX) -> Iterator[HistoryLine]:
        """Every line of the account, newest first, page by page."""
        cursor: str | None = None
        while True:
            page = self.history(account_id, limit=page_size, cursor=cursor)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # entries

    def post_entry(
        self,
        kind: str,
        postings: Sequence[Posting],
        *,
        metadata: Mapping[str, Any] | None = None,
        pending: bool = False,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Entry:
        """Record an entry (a hold with ``pending``). Retries reuse one idempotency key:
        yours, or one made here before the first attempt."""
        new = NewEntry(kind, postings, metadata or {}, pending, expires_at)
        key = idempotency_key or new.idempotency_key
        response = self._t.call("POST", "/v1/entries", json=new.as_json(), idempotency_key=key)
        return Entry.from_json(response.json(), replayed=replayed(response))

    def post_entries(self, entries: Sequence[NewEntry]) -> list[BatchResult]:
        """Record up to 1,000 entries in one request; one result per entry, in order. Each
        entry keeps its own idempotency key, so retrying the batch posts nothing twice."""
        body = {"entries": [{**e.as_json(), "idempotency_key": e.idempotency_key} for e in entries]}
        results = self._t.call("POST", "/v1/entries/batch", json=body).json()["results"]
        return [
            BatchResult(
                r["index"],
                r["idempotency_key"],
                r["status"],
                Entry.from_json(r["entry"], replayed=r["replayed"]) if r["entry"] else None,
                error_for(r["status"], r["problem"]) if r["problem"] else None,
            )
            for r in results
        ]

    def get_entry(self, entry_id: str) -> Entry:
        return Entry.from_json(self._t.call("GET", f"/v1/entries/{entry_id}").json())

    def list_entries(
        self,
        *,
        account: str | None = None,
        kinds: Sequence[str] | None = None,
        after_seq: int | None = None,
        before_seq: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Entry]:
        """Entries newest first: of ``account``, of ``kinds`` (``"reward.*"`` for a prefix),
        with ``after_seq < seq < before_seq`` and ``since <= effective_at < until``."""
        params: dict[str, Any] = {
            "account": account,
            "kind": list(kinds) if kinds is not None else None,
            "after_seq": after_seq,
            "before_seq": before_seq,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "limit": limit,
            "cursor": cursor,
        }
        data = self._t.call("GET", "/v1/entries", params=params).json()
        return Page(tuple(Entry.from_json(e) for e in data["data"]), data["next_cursor"])

    def iter_entries(self, *, page_size: int = PAGE_MAX, **filters: Any) -> Iterator[Entry]:
        """Every entry :meth:`list_entries` selects with ``filters``, newest first."""
        cursor: str | None = None
        while True:
            page = self.list_entries(limit=page_size, cursor=cursor, **filters)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # holds

    def post_hold(self, hold_id: str) -> Hold:
        """Post a pending hold (a repeat answers with its current state)."""
        return _hold(self._t.call("POST", f"/v1/entries/{hold_id}/post").json())

    def void_hold(self, hold_id: str) -> Hold:
        """Void a pending hold (a repeat answers with its current state)."""
        return _hold(self._t.call("POST", f"/v1/entries/{hold_id}/void").json())


def _hold(data: Mapping[str, Any]) -> Hold:
    resolution = data.get("resolution")
    return Hold(
        data["hold_id"],
        data["status"],
        Entry.from_json(data["hold"]),
        Entry.from_json(resolution) if resolution else None,
    )


__all__ = ["LedgerCalls", "new_idempotency_key"]
