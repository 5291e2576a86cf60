"""The ledger's public Python API: everything else moves value through :class:`Ledger`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, select
from sqlalchemy.exc import IntegrityError

from ledger.canonical import canonical_json
from ledger.checks import check_entry_id, check_principal, is_account_id, is_entry_id
from ledger.commands import Command, HoldAction, Outcome, PostEntry, ResolveHold, Reverse
from ledger.errors import AccountExists, InvalidEntry, LedgerError, NotFound
from ledger.journal import BatchHook
from ledger.metrics import NO_METRICS, WriterMetrics
from ledger.model import (
    METADATA_MAX_BYTES,
    RESOLUTION_STATUS,
    Account,
    Balance,
    Entry,
    EntryType,
    HistoryLine,
    HoldState,
    HoldStatus,
    NewEntry,
    Posted,
    postings_json,
    validate_account,
    validate_idempotency_key,
    validate_kind,
    validate_new_entry,
)
from ledger.service_reads import JournalReads
from ledger.store.engine import WRITE_TXN
from ledger.store.rows import entry_from_row, line_from_row
from ledger.store.tables import accounts, balances, entries, entry_lines
from ledger.writer import DirectWriter, GroupCommitWriter

HISTORY_MAX_LIMIT = 500
EXPIRE_BATCH_MAX = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ledger(JournalReads):
    """Accounts, entries, holds and balances over one database.

    ``group_commit=True`` (the default) sends writes through writer threads that commit
    concurrent requests together (``writer_threads``: one by default, see
    :class:`~ledger.writer.GroupCommitWriter`); ``False`` gives each call its own
    transaction.
    Call :meth:`close` when done.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = utcnow,
        group_commit: bool = True,
        hooks: Sequence[BatchHook] = (),
        max_batch: int = 1000,
        writer_threads: int | None = None,
        metrics: WriterMetrics = NO_METRICS,
    ) -> None:
        self.engine = engine
        self.clock = clock
        # The token log is part of the journal: the writer appends it in the same
        # transaction, always; ``hooks`` run after it.
        self._writer: GroupCommitWriter | DirectWriter = (
            GroupCommitWriter(engine, clock, hooks, max_batch, writer_threads, metrics=metrics)
            if group_commit
            else DirectWriter(engine, clock, hooks, metrics=metrics)
        )

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- accounts --------------------------------------------------------------------

    def create_account(self, account: Account) -> tuple[Account, bool]:
        """Create ``account``; returns it and whether it is new.

        Creating an identical account again returns the existing one (``False``); an
        account of that id with another asset or ``allow_negative`` is :class:`AccountExists`.
        """
        validate_account(account)
        now = self.clock()
        try:
            with self.engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
                conn.execute(
                    insert(accounts).values(
                        id=account.id,
                        asset=account.asset,
                        allow_negative=account.allow_negative,
                        metadata=dict(account.metadata),
                        created_at=now,
                    )
                )
                conn.execute(
                    insert(balances).values(
                        account_id=account.id,
                        asset=account.asset,
                        allow_negative=account.allow_negative,
                        balance=0,
                        pending_out=0,
                        pending_in=0,
                        last_seq=0,
                    )
                )
        except IntegrityError:
            existing = self.get_account(account.id)
            same = (existing.asset, existing.allow_negative, dict(existing.metadata)) == (
                account.asset,
                account.allow_negative,
                dict(account.metadata),
            )
            if not same:
                raise AccountExists(f"account {account.id!r} exists with other settings") from None
            return existing, False
        return Account(
            account.id, account.asset, account.allow_negative, account.metadata, now
        ), True

    def get_account(self, account_id: str) -> Account:
        row = None
        if is_account_id(account_id):
            with self.engine.connect() as conn:
                row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
        if row is None:
            raise NotFound(f"account {account_id!r} does not exist")
        return Account(row.id, row.asset, row.allow_negative, row.metadata, row.created_at)

    # --- writing ---------------------------------------------------------------------

    def post_entry(
        self, request: NewEntry, *, principal: str = "system", idempotency_key: str | None = None
    ) -> Posted:
        """Record a plain entry or, with ``request.pending``, a hold. Raises LedgerError."""
        result = _one(self.submit([self.prepare(request, principal, idempotency_key)]))
        assert isinstance(result, Posted)
        return result

    def post_hold(
        self, request: NewEntry, *, principal: str = "system", idempotency_key: str | None = None
    ) -> Posted:
        if not request.pending:
            request = replace(request, pending=True)
        return self.post_entry(request, principal=principal, idempotency_key=idempotency_key)

    def prepare(self, request: NewEntry, principal: str, idempotency_key: str | None) -> PostEntry:
        """Validate what needs no database (raises) and wrap it as a command."""
        if not isinstance(request, NewEntry):
            raise InvalidEntry("a request is a NewEntry")
        metadata = validate_new_entry(request, self.clock())
        check_principal(principal)
        if idempotency_key is not None:
            validate_idempotency_key(idempotency_key)
        postings = postings_json(request.postings)
        return PostEntry(
            request,
            principal,
            idempotency_key,
            request.fingerprint(postings, metadata),
            postings,
            metadata,
        )

    def post_entries(
        self, items: Sequence[tuple[NewEntry, str | None]], *, principal: str = "system"
    ) -> list[Posted | LedgerError]:
        """Record many entries, each with its own idempotency key and its own outcome."""
        results, commands, slots = self._prepare_many(items, principal)
        return _merge_many(results, slots, self.submit(commands))

    def _prepare_many(
        self, items: Sequence[tuple[NewEntry, str | None]], principal: str
    ) -> tuple[list[Posted | LedgerError | None], list[Command], list[int]]:
        results: list[Posted | LedgerError | None] = [None] * len(items)
        commands: list[Command] = []
        slots: list[int] = []
        for i, (request, key) in enumerate(items):
            try:
                commands.append(self.prepare(request, principal, key))
                slots.append(i)
            except LedgerError as error:
                results[i] = error
        return results, commands, slots

    def resolve_hold(self, hold_id: str, action: HoldAction | str) -> HoldState:
        """Post or void a hold. A repeat answers with the current state."""
        result = _one(self.submit([_resolve_command(hold_id, action)]))
        assert isinstance(result, HoldState)
        return result

    # --- writing from asyncio ----------------------------------------------------------
    #
    # The same operations for code running in an event loop (the HTTP write routes): the
    # caller awaits the writer without occupying a thread. Same validation, same commands,
    # same outcomes as the blocking methods above.

    async def post_entry_async(
        self, request: NewEntry, *, principal: str = "system", idempotency_key: str | None = None
    ) -> Posted:
        """:meth:`post_entry` for asyncio callers."""
        command = self.prepare(request, principal, idempotency_key)
        result = _one(await self.submit_async([command]))
        assert isinstance(result, Posted)
        return result

    async def post_entries_async(
        self, items: Sequence[tuple[NewEntry, str | None]], *, principal: str = "system"
    ) -> list[Posted | LedgerError]:
        """:meth:`post_entries` for asyncio callers."""
        results, commands, slots = self._prepare_many(items, principal)
        return _merge_many(results, slots, await self.submit_async(commands))

    async def resolve_hold_async(self, hold_id: str, action: HoldAction | str) -> HoldState:
        """:meth:`resolve_hold` for asyncio callers."""
        result = _one(await self.submit_async([_resolve_command(hold_id, action)]))
        assert isinstance(result, HoldState)
        return result

    async def submit_async(self, commands: Sequence[Command]) -> list[Outcome]:
        return await self._writer.submit_async(commands)

    def reverse(
        self,
        entry_id: str,
        *,
        principal: str = "system",
        idempotency_key: str | None = None,
        kind: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        """Record the correction of ``entry_id``: its postings reversed, referencing it."""
        check_entry_id(entry_id)
        check_principal(principal)
        if idempotency_key is not None:
            validate_idempotency_key(idempotency_key)
        if kind is not None:
            validate_kind(kind)
        if len(canonical_json(metadata or {})) > METADATA_MAX_BYTES:
            raise InvalidEntry(f"metadata exceeds {METADATA_MAX_BYTES} bytes")
        result = _one(
            self.submit([Reverse(entry_id, principal, idempotency_key, kind, metadata or {})])
        )
        assert isinstance(result, Posted)
        return result

    def expire_due_holds(self, limit: int = EXPIRE_BATCH_MAX) -> int:
        """Record the expiry of up to ``limit`` holds past their deadline; returns how many."""
        now = self.clock()
        resolved = entries.alias("resolved")
        with self.engine.connect() as conn:
            due = conn.execute(
                select(entries.c.id)
                .where(
                    and_(
                        entries.c.type == EntryType.PENDING.value,
                        entries.c.expires_at <= now,
                        ~select(resolved.c.seq).where(resolved.c.hold_id == entries.c.id).exists(),
                    )
                )
                .order_by(entries.c.expires_at)
                .limit(min(limit, EXPIRE_BATCH_MAX))
            ).scalars()
            hold_ids = list(due)
        outcomes = self.submit([ResolveHold(h, HoldAction.EXPIRE) for h in hold_ids])
        return sum(
            1 for o in outcomes if isinstance(o, HoldState) and o.status is HoldStatus.EXPIRED
        )

    def submit(self, commands: Sequence[Command]) -> list[Outcome]:
        return self._writer.submit(commands)

    # --- reading ---------------------------------------------------------------------

    def balance(self, account_id: str) -> Balance:
        row = None
        if is_account_id(account_id):
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(balances).where(balances.c.account_id == account_id)
                ).first()
        if row is None:
            raise NotFound(f"account {account_id!r} does not exist")
        return Balance(
            row.account_id, row.asset, row.balance, row.pending_out, row.pending_in, row.last_seq
        )

    def balance_at(
        self, account_id: str, *, seq: int | None = None, at: datetime | None = None
    ) -> int:
        """The posted balance after journal position ``seq``, or of entries effective by ``at``."""
        if (seq is None) == (at is None):
            raise ValueError("give exactly one of seq= or at=")
        self.get_account(account_id)
        with self.engine.connect() as conn:
            if seq is not None:
                row = conn.execute(
                    select(entry_lines.c.balance_after)
                    .where(entry_lines.c.account_id == account_id, entry_lines.c.seq <= seq)
                    .order_by(entry_lines.c.seq.desc())
                    .limit(1)
                ).first()
                return 0 if row is None else int(row.balance_after)
            # Amounts are text on SQLite, so sum in Python: exact on both back ends.
            amounts = conn.execute(
                select(entry_lines.c.amount).where(
                    entry_lines.c.account_id == account_id, entry_lines.c.effective_at <= at
                )
            ).scalars()
            return sum(amounts)

    def history(
        self,
        account_id: str,
        *,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[HistoryLine]:
        """The account's lines, newest first, each with its running balance.

        ``before_seq`` is the cursor: pass the last ``seq`` of one page to get the next.
        """
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{HISTORY_MAX_LIMIT}")
        self.get_account(account_id)
        stmt = select(entry_lines).where(entry_lines.c.account_id == account_id)
        if before_seq is not None:
            stmt = stmt.where(entry_lines.c.seq < before_seq)
        stmt = stmt.order_by(entry_lines.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [line_from_row(r) for r in conn.execute(stmt)]

    def get_entry(self, entry_id: str) -> Entry:
        found = self.entries_by_ids([entry_id]) if is_entry_id(entry_id) else {}
        if entry_id not in found:
            raise NotFound(f"entry {entry_id!r} does not exist")
        return found[entry_id]

    def hold_state(self, hold_id: str) -> HoldState:
        hold = self.get_entry(hold_id)
        if hold.type is not EntryType.PENDING:
            raise NotFound(f"entry {hold_id!r} is not a hold")
        with self.engine.connect() as conn:
            row = conn.execute(select(entries).where(entries.c.hold_id == hold_id)).first()
        if row is None:
            return HoldState(hold, HoldStatus.PENDING)
        resolution = entry_from_row(row)
        return HoldState(hold, RESOLUTION_STATUS[resolution.type], resolution)


def _resolve_command(hold_id: str, action: HoldAction | str) -> ResolveHold:
    check_entry_id(hold_id, "hold id")
    try:
        return ResolveHold(hold_id, HoldAction(action))
    except ValueError:
        raise InvalidEntry("a hold is resolved by 'post', 'void' or 'expire'") from None


def _merge_many(
    results: list[Posted | LedgerError | None], slots: list[int], outcomes: list[Outcome]
) -> list[Posted | LedgerError]:
    for i, outcome in zip(slots, outcomes, strict=True):
        assert not isinstance(outcome, HoldState)
        results[i] = outcome
    return [r for r in results if r is not None]


def _one(outcomes: list[Outcome]) -> Posted | HoldState:
    (outcome,) = outcomes
    if isinstance(outcome, LedgerError):
        raise outcome
    return outcome
