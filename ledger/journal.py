"""Applying a batch of commands to the journal in one database transaction.

This is the only code that writes entries. One batch:

1. locks the journal head (``journal_head`` row): every writer, in every process, queues
   here, which makes ``seq`` gapless and the hash chain a single line;
2. reads what the commands refer to (idempotency keys, holds, entries to reverse) and locks
   the balance rows of every account involved, in one ordered statement;
3. decides each command in order against in-memory balances: a refused command (unknown
   account, overdraft, conflicting key...) yields its error and leaves no trace, the others
   go on;
4. inserts all new entries and history lines in bulk, rewrites the touched balances and the
   head, runs the batch hooks (the token log), and the caller commits once.

One command per batch is the naive path; many per batch is group commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from ledger.canonical import canonical_json, keccak256, loads
from ledger.commands import Command, HoldAction, Outcome, PostEntry, ResolveHold, Reverse
from ledger.errors import (
    AssetMismatch,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    LimitExceeded,
    NotFound,
    NotReversible,
    UnknownAccount,
)
from ledger.model import (
    KIND_MAX_CHARS,
    RESOLUTION_STATUS,
    Direction,
    Entry,
    EntryType,
    HoldState,
    HoldStatus,
    Limit,
    Posted,
    Posting,
)
from ledger.money import asset, format_amount
from ledger.store.bulk import insert_rows, member_of, update_balances
from ledger.store.tables import balances, entries, entry_lines, journal_head

BatchHook = Callable[[Connection, Sequence[Entry]], None]
IdemKey = tuple[str, str]


@dataclass(slots=True)
class _Bal:
    asset: str
    allow_negative: bool
    balance: int
    pending_out: int
    pending_in: int
    last_seq: int

    @property
    def available(self) -> int:
        return self.balance - self.pending_out


# --- reading -------------------------------------------------------------------------


def entry_from_row(row: Any) -> Entry:
    postings = tuple(
        Posting(p["source"], p["destination"], p["asset"], int(p["amount"]))
        for p in loads(row.postings)
    )
    return Entry(
        id=row.id,
        seq=row.seq,
        type=EntryType(row.type),
        kind=row.kind,
        postings=postings,
        metadata=loads(row.metadata),
        effective_at=row.effective_at,
        recorded_at=row.recorded_at,
        expires_at=row.expires_at,
        hold_id=row.hold_id,
        reverses_id=row.reverses_id,
        principal=row.principal,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        hash=bytes(row.hash),
    )


def load_entries_where(conn: Connection, clause: Any) -> list[Entry]:
    """Entries matching ``clause``, in no particular order.

    No ORDER BY on purpose: with one, a prepared statement's generic plan may walk the whole
    primary key in seq order instead of probing the index ``clause`` names.
    """
    return [entry_from_row(r) for r in conn.execute(select(entries).where(clause))]


def _by_keys(conn: Connection, keys: set[IdemKey]) -> dict[IdemKey, Entry]:
    # One query per principal (a batch usually has one): "principal = p AND key IN (...)"
    # walks the unique index, where a row-value IN list may not.
    by_principal: dict[str, list[str]] = {}
    for principal, key in keys:
        by_principal.setdefault(principal, []).append(key)
    found: dict[IdemKey, Entry] = {}
    for principal, principal_keys in sorted(by_principal.items()):
        clause = and_(
            member_of(conn, entries.c.idempotency_key, sorted(principal_keys)),
            entries.c.principal == principal,
        )
        for e in load_entries_where(conn, clause):
            found[(principal, e.idempotency_key or "")] = e
    return found


def _by_ids(conn: Connection, ids: set[str]) -> dict[str, Entry]:
    if not ids:
        return {}
    return {e.id: e for e in load_entries_where(conn, member_of(conn, entries.c.id, sorted(ids)))}


def _by_column(conn: Connection, column: Any, ids: set[str]) -> dict[str, Entry]:
    if not ids:
        return {}
    found = load_entries_where(conn, member_of(conn, column, sorted(ids)))
    return {getattr(e, column.key): e for e in found}


def _lock_balances(conn: Connection, account_ids: set[str]) -> dict[str, _Bal]:
    if not account_ids:
        return {}
    stmt = (
        select(balances)
        .where(member_of(conn, balances.c.account_id, sorted(account_ids)))
        .order_by(balances.c.account_id)
        .with_for_update()
    )
    return {
        r.account_id: _Bal(
            r.asset, r.allow_negative, r.balance, r.pending_out, r.pending_in, r.last_seq
        )
        for r in conn.execute(stmt)
    }


# --- deciding ------------------------------------------------------------------------


class _Batch:
    """In-memory state of one batch: what is decided so far, in order."""

    def __init__(
        self,
        conn: Connection,
        commands: Sequence[Command],
        now: datetime,
        new_id: Callable[[], str],
    ) -> None:
        self.conn = conn
        self.now = now
        self.new_id = new_id
        self.limit_usage: dict[Limit, int] = {}
        head = conn.execute(
            select(journal_head.c.seq, journal_head.c.hash)
            .where(journal_head.c.id == 1)
            .with_for_update()
        ).one()
        self.seq: int = head.seq
        self.hash: bytes = bytes(head.hash)
        keys: set[IdemKey] = set()
        hold_ids: set[str] = set()
        reverse_ids: set[str] = set()
        for c in commands:
            if isinstance(c, (PostEntry, Reverse)) and c.idempotency_key is not None:
                keys.add((c.principal, c.idempotency_key))
            if isinstance(c, ResolveHold):
                hold_ids.add(c.hold_id)
            if isinstance(c, Reverse):
                reverse_ids.add(c.entry_id)
        self.by_key = _by_keys(conn, keys)
        self.by_id = _by_ids(conn, hold_ids | reverse_ids)
        # Reversing a posted hold reverses its post_pending resolution: load those too.
        self.resolution_of = _by_column(conn, entries.c.hold_id, set(self.by_id))
        self.reversal_of = _by_column(conn, entries.c.reverses_id, reverse_ids)
        account_ids: set[str] = set()
        for c in commands:
            if isinstance(c, PostEntry):
                account_ids.update(_accounts_of(c.request.postings))
        for e in self.by_id.values():
            account_ids.update(_accounts_of(e.postings))
        self.bal = _lock_balances(conn, account_ids)
        self.new_entries: list[Entry] = []
        self.lines: list[dict[str, Any]] = []
        self.touched: set[str] = set()

    # Each decide_* either raises a LedgerError having changed nothing, or appends.

    def decide(self, command: Command) -> Outcome:
        try:
            if isinstance(command, PostEntry):
                return self.decide_post(command)
            if isinstance(command, ResolveHold):
                return self.decide_resolve(command)
            return self.decide_reverse(command)
        except LedgerError as error:
            return error

    def _replay(self, principal: str, key: str | None, fingerprint: str) -> Posted | None:
        if key is None:
            return None
        found = self.by_key.get((principal, key))
        if found is None:
            return None
        if found.fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used for a different request (entry {found.id})"
            )
        return Posted(found, replayed=True)

    def decide_post(self, c: PostEntry) -> Posted:
        request = c.request
        fingerprint = c.fingerprint or request.fingerprint()
        replay = self._replay(c.principal, c.idempotency_key, fingerprint)
        if replay is not None:
            return replay
        self._check_accounts(request.postings)
        entry = Entry(
            id=self.new_id(),
            seq=self.seq + 1,
            type=EntryType.PENDING if request.pending else EntryType.POSTED,
            kind=request.kind,
            postings=request.postings,
            metadata=dict(request.metadata),
            effective_at=request.effective_at or self.now,
            recorded_at=self.now,
            expires_at=request.expires_at,
            principal=c.principal,
            idempotency_key=c.idempotency_key,
            fingerprint=fingerprint,
        )
        usage = self._check_limits(entry, request.limits)
        self._append(entry)
        for key, amount in usage:
            self.limit_usage[key] += amount
        return Posted(self.new_entries[-1])

    def _check_limits(self, entry: Entry, limits: Sequence[Limit]) -> list[tuple[Limit, int]]:
        """Raise LimitExceeded if ``entry`` would pass a limit; else each limit's increment."""
        if not limits:
            return []
        deltas = balance_deltas(entry) if entry.type is EntryType.POSTED else {}
        usage = []
        for limit in limits:
            net = deltas.get(limit.account_id, (0, 0, 0))[0]
            amount = max(net, 0) if limit.direction is Direction.IN else max(-net, 0)
            if limit.kind != entry.kind:
                amount = 0
            if limit not in self.limit_usage:
                self.limit_usage[limit] = _limit_usage(self.conn, limit)
            used = self.limit_usage[limit]
            if used + amount > limit.max_amount:
                raise LimitExceeded(
                    f"{limit.kind} {limit.direction.value} on {limit.account_id!r}: "
                    f"{used} used of {limit.max_amount} in the window, this entry needs {amount}",
                    account_id=limit.account_id,
                    kind=limit.kind,
                )
            usage.append((limit, amount))
        return usage

    def decide_resolve(self, c: ResolveHold) -> HoldState:
        hold = self.by_id.get(c.hold_id)
        if hold is None or hold.type is not EntryType.PENDING:
            raise NotFound(f"no hold with id {c.hold_id!r}")
        done = self.resolution_of.get(hold.id)
        if done is not None:
            return self._repeat_resolution(hold, done, c.action)
        due = hold.expires_at is not None and hold.expires_at <= self.now
        if c.action is HoldAction.EXPIRE and not due:
            return HoldState(hold, HoldStatus.PENDING)
        kind = {
            HoldAction.POST: EntryType.POST_PENDING,
            HoldAction.VOID: EntryType.VOID_PENDING,
            HoldAction.EXPIRE: EntryType.EXPIRE_PENDING,
        }[c.action]
        if due:
            kind = EntryType.EXPIRE_PENDING
        resolution = Entry(
            id=self.new_id(),
            seq=self.seq + 1,
            type=kind,
            kind=hold.kind,
            postings=hold.postings,
            metadata={},
            effective_at=self.now,
            recorded_at=self.now,
            hold_id=hold.id,
        )
        self._append(resolution)
        stored = self.new_entries[-1]
        self.resolution_of[hold.id] = stored
        state = HoldState(hold, RESOLUTION_STATUS[stored.type], stored)
        if c.action is HoldAction.POST and kind is EntryType.EXPIRE_PENDING:
            raise _Written(HoldNotPending(f"hold {hold.id} expired at {hold.expires_at}"), state)
        return state

    def _repeat_resolution(self, hold: Entry, done: Entry, action: HoldAction) -> HoldState:
        state = HoldState(hold, RESOLUTION_STATUS[done.type], done)
        wanted = HoldStatus.POSTED if action is HoldAction.POST else None
        if action is HoldAction.POST and state.status is not wanted:
            raise HoldNotPending(f"hold {hold.id} is already {state.status.value}")
        if action is HoldAction.VOID and state.status is HoldStatus.POSTED:
            raise HoldNotPending(f"hold {hold.id} is already posted")
        return state

    def decide_reverse(self, c: Reverse) -> Posted:
        original = self.by_id.get(c.entry_id)
        if original is None:
            raise NotFound(f"no entry with id {c.entry_id!r}")
        target = original
        if original.type is EntryType.PENDING:
            resolution = self.resolution_of.get(original.id)
            if resolution is None or resolution.type is not EntryType.POST_PENDING:
                raise NotReversible(f"hold {original.id} is not posted; void it instead")
            target = resolution
        elif original.type is not EntryType.POSTED:
            raise NotReversible(f"entry {original.id} of type {original.type} moves no value")
        kind = c.kind or f"{original.kind}.reversal"
        if len(kind) > KIND_MAX_CHARS:
            kind = "reversal"
        postings = tuple(
            Posting(p.destination, p.source, p.asset, p.amount) for p in target.postings
        )
        request_fp = keccak256(
            canonical_json({"reverses": original.id, "kind": kind, "metadata": dict(c.metadata)})
        ).hex()
        replay = self._replay(c.principal, c.idempotency_key, request_fp)
        if replay is not None:
            return replay
        if original.id in self.reversal_of:
            raise NotReversible(
                f"entry {original.id} is already reversed by {self.reversal_of[original.id].id}"
            )
        entry = Entry(
            id=self.new_id(),
            seq=self.seq + 1,
            type=EntryType.POSTED,
            kind=kind,
            postings=postings,
            metadata=dict(c.metadata),
            effective_at=self.now,
            recorded_at=self.now,
            reverses_id=original.id,
            principal=c.principal,
            idempotency_key=c.idempotency_key,
            fingerprint=request_fp,
        )
        self._check_accounts(postings)
        self._append(entry)
        self.reversal_of[original.id] = self.new_entries[-1]
        return Posted(self.new_entries[-1])

    def _check_accounts(self, postings: Iterable[Posting]) -> None:
        for p in postings:
            for account_id in (p.source, p.destination):
                found = self.bal.get(account_id)
                if found is None:
                    raise UnknownAccount(f"account {account_id!r} does not exist")
                if found.asset != p.asset:
                    raise AssetMismatch(
                        f"account {account_id!r} holds {found.asset}, the posting moves {p.asset}"
                    )

    def _append(self, entry: Entry) -> None:
        """Apply ``entry`` to the balances if no account overdraws, then chain it."""
        deltas = balance_deltas(entry)
        for account_id, (d_balance, d_out, _d_in) in deltas.items():
            b = self.bal[account_id]
            if b.allow_negative or d_balance - d_out >= 0:
                continue
            if b.balance + d_balance - (b.pending_out + d_out) < 0:
                unit = asset(b.asset)
                raise InsufficientFunds(
                    f"account {account_id!r} has {format_amount(b.available, unit)} "
                    f"{unit.code} available, the entry needs "
                    f"{format_amount(-(d_balance - d_out), unit)}",
                    account_id=account_id,
                )
        stored = replace(entry, hash=entry.chained_hash(self.hash))
        self.seq, self.hash = stored.seq, stored.hash
        moves_balance = stored.type in (EntryType.POSTED, EntryType.POST_PENDING)
        for account_id, (d_balance, d_out, d_in) in deltas.items():
            b = self.bal[account_id]
            b.balance += d_balance
            b.pending_out += d_out
            b.pending_in += d_in
            b.last_seq = stored.seq
            self.touched.add(account_id)
            if moves_balance:
                self.lines.append(
                    {
                        "account_id": account_id,
                        "seq": stored.seq,
                        "entry_id": stored.id,
                        "kind": stored.kind,
                        "amount": d_balance,
                        "balance_after": b.balance,
                        "effective_at": stored.effective_at,
                    }
                )
        self.new_entries.append(stored)
        # Later commands of the same batch see this one: a repeated key, a hold to resolve.
        self.by_id[stored.id] = stored
        if stored.idempotency_key is not None:
            self.by_key[(stored.principal or "", stored.idempotency_key)] = stored

    def write(self, conn: Connection, hooks: Sequence[BatchHook]) -> None:
        """Insert the new rows and rewrite the touched balances and the head, in bulk."""
        if not self.new_entries:
            return
        insert_rows(conn, entries, [_entry_row(e) for e in self.new_entries])
        insert_rows(conn, entry_lines, self.lines)
        update_balances(
            conn,
            [
                (a, b.balance, b.pending_out, b.pending_in, b.last_seq)
                for a in sorted(self.touched)
                for b in (self.bal[a],)
            ],
        )
        conn.execute(
            update(journal_head).where(journal_head.c.id == 1).values(seq=self.seq, hash=self.hash)
        )
        for hook in hooks:
            hook(conn, self.new_entries)


class _Written(LedgerError):
    """A refusal that still wrote an event (posting an expired hold records the expiry)."""

    def __init__(self, error: LedgerError, state: HoldState) -> None:
        super().__init__(error.detail)
        self.error = error
        self.state = state


def _limit_usage(conn: Connection, limit: Limit) -> int:
    """What the posted journal already counts against ``limit`` (under the head lock)."""
    amounts = conn.execute(
        select(entry_lines.c.amount).where(
            entry_lines.c.account_id == limit.account_id,
            entry_lines.c.kind == limit.kind,
            entry_lines.c.effective_at >= limit.since,
            entry_lines.c.effective_at < limit.until,
        )
    ).scalars()
    # Amounts are text on SQLite: add them up in Python, exact on both back ends.
    if limit.direction is Direction.IN:
        return sum(a for a in amounts if a > 0)
    return sum(-a for a in amounts if a < 0)


def _accounts_of(postings: Iterable[Posting]) -> set[str]:
    return {a for p in postings for a in (p.source, p.destination)}


def balance_deltas(entry: Entry) -> dict[str, tuple[int, int, int]]:
    """Per account: (change of balance, of pending_out, of pending_in)."""
    sign_balance, sign_pending = {
        EntryType.POSTED: (1, 0),
        EntryType.PENDING: (0, 1),
        EntryType.POST_PENDING: (1, -1),
        EntryType.VOID_PENDING: (0, -1),
        EntryType.EXPIRE_PENDING: (0, -1),
    }[entry.type]
    out: dict[str, list[int]] = {}
    for p in entry.postings:
        src = out.setdefault(p.source, [0, 0, 0])
        dst = out.setdefault(p.destination, [0, 0, 0])
        src[0] -= sign_balance * p.amount
        src[1] += sign_pending * p.amount
        dst[0] += sign_balance * p.amount
        dst[2] += sign_pending * p.amount
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _entry_row(e: Entry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "id": e.id,
        "type": e.type.value,
        "kind": e.kind,
        "postings": canonical_json([p.as_json() for p in e.postings], checked=True).decode(),
        "metadata": canonical_json(dict(e.metadata), checked=True).decode(),
        "effective_at": e.effective_at,
        "recorded_at": e.recorded_at,
        "expires_at": e.expires_at,
        "hold_id": e.hold_id,
        "reverses_id": e.reverses_id,
        "principal": e.principal,
        "idempotency_key": e.idempotency_key,
        "fingerprint": e.fingerprint,
        "hash": e.hash,
    }


def new_entry_id() -> str:
    return str(uuid.uuid4())


def apply_batch(
    conn: Connection,
    commands: Sequence[Command],
    now: datetime,
    hooks: Sequence[BatchHook] = (),
    new_id: Callable[[], str] = new_entry_id,
) -> list[Outcome]:
    """Decide and write ``commands`` inside the caller's open transaction.

    Precondition: ``conn`` is in a write transaction that the caller commits after this
    returns. Returns one outcome per command, in order; errors are values, not raised.
    """
    batch = _Batch(conn, commands, now, new_id)
    outcomes: list[Outcome] = []
    for command in commands:
        outcome = batch.decide(command)
        if isinstance(outcome, _Written):
            outcome = outcome.error
        outcomes.append(outcome)
    batch.write(conn, hooks)
    return outcomes
