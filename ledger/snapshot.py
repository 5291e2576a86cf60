"""What deciding a batch reads and returns: the journal as a batch sees it, and its rows.

:func:`needs_of` says what a batch of commands refers to; the loader reads that into a
:class:`Snapshot` under the journal head lock; :func:`ledger.deciding.decide` turns the
snapshot and the commands into a :class:`Decision`. All values, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.commands import Command, Outcome, PostEntry, ResolveHold, Reverse
from ledger.model import Entry, HistoryLine, Limit, Posting

IdemKey = tuple[str, str]  # (principal, idempotency key)


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's balance row as locked for the batch."""

    account_id: str
    asset: str
    allow_negative: bool
    balance: int
    pending_out: int
    pending_in: int
    last_seq: int

    @property
    def available(self) -> int:
        return self.balance - self.pending_out


@dataclass(frozen=True, slots=True)
class Needs:
    """What :func:`decide` needs loaded for a batch (first round: from the commands)."""

    keys: frozenset[IdemKey]
    entry_ids: frozenset[str]  # holds to resolve, entries to reverse
    reverse_ids: frozenset[str]
    accounts: frozenset[str]  # of new postings; the loader adds those of loaded entries
    limits: frozenset[Limit]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The journal as the batch sees it under the head lock.

    Preconditions (the loader's contract): ``by_key`` has every stored entry of ``keys``;
    ``by_id`` every stored entry of ``entry_ids``; ``resolution_of`` the resolution of each
    of those that is a resolved hold; ``reversal_of`` the reversal of each reversed one;
    ``accounts`` the balance row of every existing account the commands or those entries
    name; ``limit_usage`` the stored usage of every limit named.
    """

    head_seq: int
    head_hash: bytes
    by_key: Mapping[IdemKey, Entry]
    by_id: Mapping[str, Entry]
    resolution_of: Mapping[str, Entry]  # hold id -> its resolution
    reversal_of: Mapping[str, Entry]  # entry id -> the entry reversing it
    accounts: Mapping[str, AccountState]
    limit_usage: Mapping[Limit, int]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcomes of a batch and everything to write for them."""

    outcomes: tuple[Outcome, ...]
    entries: tuple[Entry, ...]  # new, in seq order, hashed
    texts: tuple[tuple[bytes, bytes], ...]  # per entry: canonical JSON of postings, metadata
    lines: tuple[HistoryLine, ...]  # one per account an entry moved a balance of
    accounts: tuple[AccountState, ...]  # final rows of the touched accounts, by id
    head_seq: int
    head_hash: bytes


def needs_of(commands: Sequence[Command]) -> Needs:
    keys: set[IdemKey] = set()
    entry_ids: set[str] = set()
    reverse_ids: set[str] = set()
    accounts: set[str] = set()
    limits: set[Limit] = set()
    for c in commands:
        if isinstance(c, PostEntry):
            accounts.update(accounts_of(c.request.postings))
            limits.update(c.request.limits)
        elif isinstance(c, ResolveHold):
            entry_ids.add(c.hold_id)
        else:
            entry_ids.add(c.entry_id)
            reverse_ids.add(c.entry_id)
        if isinstance(c, (PostEntry, Reverse)) and c.idempotency_key is not None:
            keys.add((c.principal, c.idempotency_key))
    return Needs(
        frozenset(keys),
        frozenset(entry_ids),
        frozenset(reverse_ids),
        frozenset(accounts),
        frozenset(limits),
    )


def accounts_of(postings: Iterable[Posting]) -> set[str]:
    return {a for p in postings for a in (p.source, p.destination)}


class HeadCache:
    """What one writer connection last saw under the head lock, and committed.

    ``head`` is the journal head (seq, hash) that the writer read under the lock or wrote
    and committed itself; ``accounts`` the balance rows as they stood at that head (those
    it locked, with the batch's final values for those it changed). Every entry moves the
    head and each head's hash commits to the whole journal, so while the head in the
    database is still ``head`` these rows are current: the next batch of this writer can be
    decided from them and written in one statement that checks the head under its lock
    (:mod:`ledger.store.pg_fast`). Any other writer, in any process, moves the head and
    makes the cache stale; a failed batch clears it.
    """

    MAX_ACCOUNTS = 100_000  # past this, start afresh (a bound on memory, not on correctness)

    __slots__ = ("accounts", "head", "last_batch")

    def __init__(self) -> None:
        self.head: tuple[int, bytes] | None = None
        self.accounts: dict[str, AccountState] = {}
        self.last_batch = 0  # commands in this writer's last batch

    def clear(self) -> None:
        self.head, self.accounts = None, {}

    def observed(self, head: tuple[int, bytes], accounts: Mapping[str, AccountState]) -> None:
        """``accounts`` were read under the head lock at ``head``."""
        if head != self.head or len(self.accounts) > self.MAX_ACCOUNTS:
            self.head, self.accounts = head, {}
        self.accounts.update(accounts)

    def committed(self, head: tuple[int, bytes], accounts: Iterable[AccountState]) -> None:
        """A batch decided from this cache's state committed: ``head`` and the final rows of
        the accounts it changed."""
        self.head = head
        for a in accounts:
            self.accounts[a.account_id] = a
