"""Bounded, indexed listings of accounts and entries (``GET /v1/accounts``, ``/v1/entries``).

Both are keyset pages: accounts in id order (the cursor is the last id), entries newest
first (the cursor is the last ``seq``). Every filter is checked here, so a caller of the
ledger's Python API gets the same refusals as one of the HTTP API (:class:`InvalidRequest`,
never a driver error). The indexes each filter uses (migration ``0080_list_indexes``):

* accounts: the primary key (``id``; a prefix is a range of it) or ``accounts_asset_id``;
* entries of one account: ``entry_lines``' primary key ``(account_id, seq)``, or
  ``entry_lines_account_kind_time`` with a kind;
* entries of every account: ``entries``' primary key ``seq``, ``entries_kind_seq`` with an
  exact kind, ``entries_effective_at`` with a time range.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from ledger.checks import check_instant, is_account_id, is_account_part
from ledger.errors import InvalidRequest
from ledger.model import RESOLUTION_STATUS, Account, Balance, Entry, EntryType, HoldStatus
from ledger.money import asset as asset_of
from ledger.reads import check_kind_patterns, kind_clause
from ledger.store.bulk import member_of
from ledger.store.loading import entries_by_ids, load_entries_where
from ledger.store.tables import accounts, balances, entries, entry_lines

LIST_MAX_LIMIT = 1000  # the API pages up to 500 and asks one more to know if another page follows
SEQ_MAX = 2**63 - 1  # the column is a BIGINT


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """What ``GET /v1/entries`` selects: every field optional, all of them combined.

    ``after_seq < seq < before_seq``; ``since <= effective_at < until``; ``kinds`` exact
    kinds or ``prefix.*``; ``account`` one account's entries.
    """

    account: str | None = None
    kinds: Sequence[str] | None = None
    after_seq: int | None = None
    before_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def checked(self) -> EntryFilter:
        if self.account is not None and not is_account_id(self.account):
            raise InvalidRequest("account is an account id")
        for name in ("after_seq", "before_seq"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or not 0 <= value <= SEQ_MAX):
                raise InvalidRequest(f"{name} is an integer within 0..{SEQ_MAX}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                check_instant(value, name)
        check_kind_patterns(self.kinds)
        return self


def _check_limit(limit: int) -> None:
    if type(limit) is not int or not 1 <= limit <= LIST_MAX_LIMIT:
        raise InvalidRequest(f"limit must be within 1..{LIST_MAX_LIMIT}")


def list_accounts(
    conn: Connection,
    *,
    prefix: str = "",
    asset: str | None = None,
    after_id: str | None = None,
    limit: int = 100,
) -> list[tuple[Account, Balance]]:
    """Accounts whose id starts with ``prefix`` (and of ``asset``), in id order, after
    ``after_id``, at most ``limit``, each with its balance."""
    _check_limit(limit)
    if not is_account_part(prefix):
        raise InvalidRequest("prefix is the start of an account id: [a-z0-9_.:-], <= 128")
    if after_id is not None and not is_account_id(after_id):
        raise InvalidRequest("the cursor is an account id")
    clauses = []
    if prefix:
        clauses.append(accounts.c.id.startswith(prefix, autoescape=True))
    if asset is not None:
        clauses.append(accounts.c.asset == asset_of(asset).code)
    if after_id is not None:
        clauses.append(accounts.c.id > after_id)
    stmt = (
        select(accounts, balances.c.balance, balances.c.pending_out, balances.c.pending_in)
        .join(balances, balances.c.account_id == accounts.c.id)
        .where(and_(True, *clauses))
        .order_by(accounts.c.id)
        .limit(limit)
    )
    return [
        (
            Account(r.id, r.asset, r.allow_negative, r.metadata, r.created_at),
            Balance(r.id, r.asset, int(r.balance), int(r.pending_out), int(r.pending_in)),
        )
        for r in conn.execute(stmt)
    ]


def list_entries(conn: Connection, selection: EntryFilter, limit: int = 100) -> list[Entry]:
    """The entries ``selection`` names, newest first (highest ``seq``), at most ``limit``."""
    _check_limit(limit)
    f = selection.checked()
    if f.account is not None:
        return _entries_of_account(conn, f, limit)
    clauses = []
    if f.after_seq is not None:
        clauses.append(entries.c.seq > f.after_seq)
    if f.before_seq is not None:
        clauses.append(entries.c.seq < f.before_seq)
    if f.since is not None:
        clauses.append(entries.c.effective_at >= f.since)
    if f.until is not None:
        clauses.append(entries.c.effective_at < f.until)
    if f.kinds is not None:
        clauses.append(kind_clause(conn, entries.c.kind, f.kinds))
    seqs = list(
        conn.execute(
            select(entries.c.seq)
            .where(and_(True, *clauses))
            .order_by(entries.c.seq.desc())
            .limit(limit)
        ).scalars()
    )
    if not seqs:
        return []
    found = load_entries_where(conn, entries.c.seq.in_(seqs))
    return sorted(found, key=lambda e: e.seq, reverse=True)


def _entries_of_account(conn: Connection, f: EntryFilter, limit: int) -> list[Entry]:
    lines = entry_lines.c
    clauses = [lines.account_id == f.account]
    if f.after_seq is not None:
        clauses.append(lines.seq > f.after_seq)
    if f.before_seq is not None:
        clauses.append(lines.seq < f.before_seq)
    if f.since is not None:
        clauses.append(lines.effective_at >= f.since)
    if f.until is not None:
        clauses.append(lines.effective_at < f.until)
    if f.kinds is not None:
        clauses.append(kind_clause(conn, lines.kind, f.kinds))
    ids = list(
        conn.execute(
            select(lines.entry_id).where(and_(*clauses)).order_by(lines.seq.desc()).limit(limit)
        ).scalars()
    )
    found = entries_by_ids(conn, set(ids))
    return sorted(found.values(), key=lambda e: e.seq, reverse=True)


def hold_statuses(conn: Connection, hold_ids: Collection[str]) -> dict[str, HoldStatus]:
    """The current status of each hold of ``hold_ids`` (at most :data:`LIST_MAX_LIMIT`)."""
    if len(hold_ids) > LIST_MAX_LIMIT:
        raise InvalidRequest(f"at most {LIST_MAX_LIMIT} holds per call")
    status = {h: HoldStatus.PENDING for h in hold_ids}
    if hold_ids:
        rows = conn.execute(
            select(entries.c.hold_id, entries.c.type).where(
                member_of(conn, entries.c.hold_id, sorted(hold_ids))
            )
        )
        for hold_id, kind in rows:
            status[hold_id] = RESOLUTION_STATUS[EntryType(kind)]
    return status
