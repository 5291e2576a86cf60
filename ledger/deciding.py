"""Deciding a batch of commands: a pure function of a snapshot of the journal.

:func:`decide` takes what the writer loaded under the journal head lock (a
:class:`Snapshot`: the head, the entries the commands refer to, the locked balances, the
usage of every limit named) and returns a :class:`Decision`: one outcome per command and
the rows to write. It reads no clock, no database, no global state; ``new_id`` is its one
input of entropy. The rules, in command order:

- a reused idempotency key with the same fingerprint replays the original entry; with
  another fingerprint it is :class:`IdempotencyConflict`;
- every posting names an existing account of its asset;
- no account without ``allow_negative`` ends below zero *available* (balance minus what
  its open holds reserve);
- a limit is not passed (usage in the snapshot plus what earlier commands of the batch add);
- a hold is resolved once: a repeat answers with the current state; posting a hold past its
  deadline records its expiry and answers :class:`HoldNotPending`;
- an entry is reversed at most once, and only if it moved value;
- each new entry takes the next ``seq`` and chains ``hash = keccak256(prev ‖ canonical)``.

A refused command leaves no trace; later commands of the batch see the accepted ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from ledger.canonical import canonical_json, keccak256
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
    Unstorable,
)
from ledger.model import (
    KIND_MAX_CHARS,
    RESOLUTION_STATUS,
    Direction,
    Entry,
    EntryType,
    HistoryLine,
    HoldState,
    HoldStatus,
    Limit,
    Posted,
    Posting,
    canonical_entry,
    postings_json,
)
from ledger.money import asset, format_amount
from ledger.snapshot import AccountState, Decision, Snapshot

Deltas = dict[str, tuple[int, int, int]]  # account -> (balance, pending_out, pending_in)

_ACTION_TYPE = {
    HoldAction.POST: EntryType.POST_PENDING,
    HoldAction.VOID: EntryType.VOID_PENDING,
    HoldAction.EXPIRE: EntryType.EXPIRE_PENDING,
}
_SIGNS = {  # entry type -> (sign on balances, sign on pending amounts)
    EntryType.POSTED: (1, 0),
    EntryType.PENDING: (0, 1),
    EntryType.POST_PENDING: (1, -1),
    EntryType.VOID_PENDING: (0, -1),
    EntryType.EXPIRE_PENDING: (0, -1),
}


def decide(
    snapshot: Snapshot, commands: Sequence[Command], now: datetime, new_id: Callable[[], str]
) -> Decision:
    """Decide ``commands`` in order against ``snapshot``; pure (see the module docstring)."""
    state = _State(snapshot, now, new_id)
    outcomes = tuple(state.decide(c) for c in commands)
    return Decision(
        outcomes=outcomes,
        entries=tuple(state.new_entries),
        texts=tuple(state.texts),
        lines=tuple(state.lines),
        accounts=tuple(state.final_accounts()),
        head_seq=state.seq,
        head_hash=state.hash,
    )


def balance_deltas(entry: Entry) -> Deltas:
    """Per account: (change of balance, of pending_out, of pending_in)."""
    sign_balance, sign_pending = _SIGNS[entry.type]
    out: dict[str, list[int]] = {}
    for p in entry.postings:
        src = out.setdefault(p.source, [0, 0, 0])
        dst = out.setdefault(p.destination, [0, 0, 0])
        src[0] -= sign_balance * p.amount
        src[1] += sign_pending * p.amount
        dst[0] += sign_balance * p.amount
        dst[2] += sign_pending * p.amount
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def reversal_fingerprint(original_id: str, kind: str, metadata: Mapping[str, object]) -> str:
    body = {"reverses": original_id, "kind": kind, "metadata": dict(metadata)}
    return keccak256(canonical_json(body, checked=True)).hex()


class _State:
    """What the batch has decided so far; each rule either refuses or appends."""

    def __init__(self, snapshot: Snapshot, now: datetime, new_id: Callable[[], str]) -> None:
        self.now, self.new_id = now, new_id
        self.seq, self.hash = snapshot.head_seq, snapshot.head_hash
        self.by_key = dict(snapshot.by_key)
        self.by_id = dict(snapshot.by_id)
        self.resolution_of = dict(snapshot.resolution_of)
        self.reversal_of = dict(snapshot.reversal_of)
        self.accounts = {a: _Working(state) for a, state in snapshot.accounts.items()}
        self.limit_usage = dict(snapshot.limit_usage)
        self.new_entries: list[Entry] = []
        self.texts: list[tuple[bytes, bytes]] = []
        self.lines: list[HistoryLine] = []
        self.touched: set[str] = set()

    def final_accounts(self) -> list[AccountState]:
        return [self.accounts[a].state() for a in sorted(self.touched)]

    def decide(self, command: Command) -> Outcome:
        """The outcome of ``command``. Every rule computes (ids, fingerprints, hashes) before
        it changes the state, so a value that cannot be encoded refuses its own command
        only, as :class:`Unstorable`, and the batch goes on."""
        try:
            if isinstance(command, PostEntry):
                return self.post(command)
            if isinstance(command, ResolveHold):
                return self.resolve(command)
            return self.reverse(command)
        except LedgerError as error:
            return error
        except (ValueError, OverflowError) as error:  # UnicodeEncodeError is a ValueError
            return Unstorable(f"a value of this request cannot be encoded ({type(error).__name__})")

    def replay(self, principal: str, key: str | None, fingerprint: str) -> Posted | None:
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

    def post(self, c: PostEntry) -> Posted:
        request = c.request
        fingerprint = c.fingerprint or request.fingerprint()
        replay = self.replay(c.principal, c.idempotency_key, fingerprint)
        if replay is not None:
            return replay
        self.check_accounts(request.postings)
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
        usage = self.check_limits(entry, request.limits)
        stored = self.append(
            entry,
            c.postings_json or postings_json(request.postings),
            c.metadata_json or canonical_json(dict(request.metadata), checked=True),
        )
        for limit, amount in usage:
            self.limit_usage[limit] += amount
        return Posted(stored)

    def check_limits(self, entry: Entry, limits: Sequence[Limit]) -> list[tuple[Limit, int]]:
        """Raise LimitExceeded if ``entry`` would pass a limit; else each limit's increment."""
        deltas = balance_deltas(entry) if entry.type is EntryType.POSTED and limits else {}
        usage = []
        for limit in limits:
            net = deltas.get(limit.account_id, (0, 0, 0))[0]
            amount = max(net, 0) if limit.direction is Direction.IN else max(-net, 0)
            if limit.kind != entry.kind:
                amount = 0
            used = self.limit_usage[limit]  # KeyError: the snapshot missed a limit (a bug)
            if used + amount > limit.max_amount:
                raise LimitExceeded(
                    f"{limit.kind} {limit.direction.value} on {limit.account_id!r}: "
                    f"{used} used of {limit.max_amount} in the window, this entry needs {amount}",
                    account_id=limit.account_id,
                    kind=limit.kind,
                )
            usage.append((limit, amount))
        return usage

    def resolve(self, c: ResolveHold) -> Outcome:
        hold = self.by_id.get(c.hold_id)
        if hold is None or hold.type is not EntryType.PENDING:
            raise NotFound(f"no hold with id {c.hold_id!r}")
        done = self.resolution_of.get(hold.id)
        if done is not None:
            return _repeat_resolution(hold, done, c.action)
        due = hold.expires_at is not None and hold.expires_at <= self.now
        if c.action is HoldAction.EXPIRE and not due:
            return HoldState(hold, HoldStatus.PENDING)
        kind = EntryType.EXPIRE_PENDING if due else _ACTION_TYPE[c.action]
        stored = self.append(
            Entry(
                id=self.new_id(),
                seq=self.seq + 1,
                type=kind,
                kind=hold.kind,
                postings=hold.postings,
                metadata={},
                effective_at=self.now,
                recorded_at=self.now,
                hold_id=hold.id,
            ),
            postings_json(hold.postings),
            b"{}",
        )
        self.resolution_of[hold.id] = stored
        if c.action is HoldAction.POST and kind is EntryType.EXPIRE_PENDING:
            # Refused, yet written: the expiry is recorded whoever noticed it first.
            return HoldNotPending(f"hold {hold.id} expired at {hold.expires_at}")
        return HoldState(hold, RESOLUTION_STATUS[stored.type], stored)

    def reverse(self, c: Reverse) -> Posted:
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
        fingerprint = reversal_fingerprint(original.id, kind, c.metadata)
        replay = self.replay(c.principal, c.idempotency_key, fingerprint)
        if replay is not None:
            return replay
        if original.id in self.reversal_of:
            raise NotReversible(
                f"entry {original.id} is already reversed by {self.reversal_of[original.id].id}"
            )
        postings = tuple(
            Posting(p.destination, p.source, p.asset, p.amount) for p in target.postings
        )
        self.check_accounts(postings)
        stored = self.append(
            Entry(
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
                fingerprint=fingerprint,
            ),
            postings_json(postings),
            canonical_json(dict(c.metadata), checked=True),
        )
        self.reversal_of[original.id] = stored
        return Posted(stored)

    def check_accounts(self, postings: Iterable[Posting]) -> None:
        for p in postings:
            for account_id in (p.source, p.destination):
                found = self.accounts.get(account_id)
                if found is None:
                    raise UnknownAccount(f"account {account_id!r} does not exist")
                if found.asset != p.asset:
                    raise AssetMismatch(
                        f"account {account_id!r} holds {found.asset}, the posting moves {p.asset}"
                    )

    def check_overdraft(self, deltas: Deltas) -> None:
        for account_id, (d_balance, d_out, _d_in) in deltas.items():
            b = self.accounts[account_id]
            if b.allow_negative or d_balance - d_out >= 0:
                continue  # may go negative, or this entry only adds to what is available
            if b.balance + d_balance - (b.pending_out + d_out) < 0:
                unit = asset(b.asset)
                raise InsufficientFunds(
                    f"account {account_id!r} has {format_amount(b.available, unit)} "
                    f"{unit.code} available, the entry needs "
                    f"{format_amount(-(d_balance - d_out), unit)}",
                    account_id=account_id,
                )

    def append(self, entry: Entry, postings: bytes, metadata: bytes) -> Entry:
        """Apply ``entry`` if no account overdraws; chain it; return it as stored.

        ``postings``/``metadata``: the canonical JSON of the entry's (kept for its row).
        """
        deltas = balance_deltas(entry)
        self.check_overdraft(deltas)
        digest = keccak256(self.hash, canonical_entry(entry, postings, metadata))
        # The entry was built by this batch and has not escaped: give it its hash in place
        # (a second construction of a frozen 15-field entry costs more than deciding it).
        object.__setattr__(entry, "hash", digest)
        stored = entry
        self.seq, self.hash = stored.seq, digest
        moves_balance = stored.type in (EntryType.POSTED, EntryType.POST_PENDING)
        for account_id, (d_balance, d_out, d_in) in deltas.items():
            b = self.accounts[account_id]
            b.balance += d_balance
            b.pending_out += d_out
            b.pending_in += d_in
            b.last_seq = stored.seq
            self.touched.add(account_id)
            if moves_balance:
                self.lines.append(
                    HistoryLine(
                        account_id,
                        stored.seq,
                        stored.id,
                        stored.kind,
                        d_balance,
                        b.balance,
                        stored.effective_at,
                    )
                )
        self.new_entries.append(stored)
        self.texts.append((postings, metadata))
        # Later commands of the same batch see this one: a repeated key, a hold to resolve.
        self.by_id[stored.id] = stored
        if stored.idempotency_key is not None:
            self.by_key[(stored.principal or "", stored.idempotency_key)] = stored
        return stored


class _Working:
    """An account's balance row while the batch is decided (mutable, never escapes)."""

    __slots__ = (
        "account_id",
        "allow_negative",
        "asset",
        "balance",
        "last_seq",
        "pending_in",
        "pending_out",
    )

    def __init__(self, state: AccountState) -> None:
        self.account_id, self.asset = state.account_id, state.asset
        self.allow_negative = state.allow_negative
        self.balance, self.pending_out = state.balance, state.pending_out
        self.pending_in, self.last_seq = state.pending_in, state.last_seq

    @property
    def available(self) -> int:
        return self.balance - self.pending_out

    def state(self) -> AccountState:
        return AccountState(
            self.account_id,
            self.asset,
            self.allow_negative,
            self.balance,
            self.pending_out,
            self.pending_in,
            self.last_seq,
        )


def _repeat_resolution(hold: Entry, done: Entry, action: HoldAction) -> HoldState:
    state = HoldState(hold, RESOLUTION_STATUS[done.type], done)
    if action is HoldAction.POST and state.status is not HoldStatus.POSTED:
        raise HoldNotPending(f"hold {hold.id} is already {state.status.value}")
    if action is HoldAction.VOID and state.status is HoldStatus.POSTED:
        raise HoldNotPending(f"hold {hold.id} is already posted")
    return state
