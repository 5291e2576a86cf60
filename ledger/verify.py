"""Replaying the journal: the check behind ``azora ledger verify``.

Reads every entry in ``seq`` order (in pages, so memory stays bounded by the number of
accounts and open holds), and checks that:

- ``seq`` runs 1, 2, 3... with no gap, and each ``hash`` equals
  ``keccak256(prev_hash || canonical bytes)`` of the entry as stored;
- every posting names existing accounts of its asset, and no account without
  ``allow_negative`` ever has a negative available balance;
- every hold is resolved at most once, by an event carrying the hold's postings, and every
  reversal undoes an entry that exists;
- the history lines and their running balances, the balance projections and the journal
  head all equal what the replay derives, and every asset sums to zero;
- the token log holds exactly the AZR-moving events, in order, with the right leaf bytes
  and hashes, and every stored Merkle node equals the one the replay derives (compared per
  level through a running digest, so memory stays O(log n)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select, tuple_

from ledger.canonical import keccak256
from ledger.deciding import balance_deltas
from ledger.merkle import CompactRange, leaf_hash
from ledger.model import GENESIS_HASH, Entry, EntryType
from ledger.store.rows import entry_from_row
from ledger.store.tables import (
    accounts,
    balances,
    entries,
    entry_lines,
    journal_head,
    merkle_nodes,
    token_leaves,
)
from ledger.tokenlog import leaf_bytes, moves_tokens

PAGE_ENTRIES = 5000
MAX_PROBLEMS = 100

Progress = Callable[[int], None]


@dataclass
class Report:
    entries: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.truncated = True


@dataclass
class _Acc:
    asset: str
    allow_negative: bool
    balance: int = 0
    pending_out: int = 0
    pending_in: int = 0


class _Replay:
    def __init__(self, conn: Connection, report: Report) -> None:
        self.report = report
        self.accounts = {
            r.id: _Acc(r.asset, r.allow_negative) for r in conn.execute(select(accounts))
        }
        report.accounts = len(self.accounts)
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.open_holds: dict[str, Entry] = {}
        self.closed_holds: set[str] = set()
        self.reversed: set[str] = set()
        self.seen_ids: set[str] = set()
        self.frontier = CompactRange()
        self.level_digests: dict[int, bytes] = {}
        self.level_counts: dict[int, int] = {}

    def token_leaf(self, e: Entry, stored: dict[int, tuple[int, bytes, bytes]]) -> None:
        """Check the log's leaf for ``e`` and feed the expected Merkle nodes to the digests."""
        if not moves_tokens(e):
            if e.seq in stored:
                self.report.problem(f"token log has a leaf for seq {e.seq}, which moves no AZR")
            return
        data = leaf_bytes(e)
        digest = leaf_hash(data)
        want = (self.frontier.size, data, digest)
        got = stored.pop(e.seq, None)
        if got != want:
            shown = None if got is None else (got[0], got[1][:60], got[2].hex()[:16])
            self.report.problem(
                f"token log leaf for seq {e.seq}: got {shown}, want index {want[0]}"
            )
        for node in self.frontier.append(digest):
            self.level_digests[node.level] = keccak256(
                self.level_digests.get(node.level, b""), node.hash
            )
            self.level_counts[node.level] = self.level_counts.get(node.level, 0) + 1

    def entry(self, e: Entry, lines: dict[tuple[str, int], tuple[str, int, int]]) -> None:
        p = self.report.problem
        if e.seq != self.expected_seq:
            p(f"seq gap: expected {self.expected_seq}, found {e.seq}")
            self.expected_seq = e.seq
        if e.chained_hash(self.prev_hash) != e.hash:
            p(f"entry seq {e.seq} ({e.id}): hash does not match its content and predecessor")
        self.prev_hash, self.expected_seq = e.hash, e.seq + 1
        if e.id in self.seen_ids:
            p(f"entry seq {e.seq}: id {e.id} appears twice")
        self.seen_ids.add(e.id)
        self._references(e)
        self._apply(e, lines)

    def _references(self, e: Entry) -> None:
        p = self.report.problem
        if e.type is EntryType.PENDING:
            self.open_holds[e.id] = e
        elif e.type.resolves_hold:
            hold = self.open_holds.pop(e.hold_id or "", None)
            if hold is None:
                p(f"entry seq {e.seq}: resolves {e.hold_id}, which is not an open hold")
            elif hold.postings != e.postings:
                p(f"entry seq {e.seq}: postings differ from those of hold {e.hold_id}")
            self.closed_holds.add(e.hold_id or "")
        if e.reverses_id is not None:
            if e.reverses_id not in self.seen_ids or e.reverses_id in self.reversed:
                p(f"entry seq {e.seq}: reverses {e.reverses_id}, unknown or already reversed")
            self.reversed.add(e.reverses_id)

    def _apply(self, e: Entry, lines: dict[tuple[str, int], tuple[str, int, int]]) -> None:
        p = self.report.problem
        for posting in e.postings:
            for account_id in (posting.source, posting.destination):
                acc = self.accounts.get(account_id)
                if acc is None or acc.asset != posting.asset:
                    p(
                        f"entry seq {e.seq}: posting names {account_id!r}, missing or not "
                        f"of {posting.asset}"
                    )
                    return
        moves_balance = e.type in (EntryType.POSTED, EntryType.POST_PENDING)
        for account_id, (d_balance, d_out, d_in) in balance_deltas(e).items():
            acc = self.accounts[account_id]
            acc.balance += d_balance
            acc.pending_out += d_out
            acc.pending_in += d_in
            if not acc.allow_negative and acc.balance - acc.pending_out < 0:
                p(f"entry seq {e.seq}: account {account_id!r} goes below zero available")
            if moves_balance:
                got = lines.pop((account_id, e.seq), None)
                want = (e.id, d_balance, acc.balance)
                if got != want:
                    p(f"history line of {account_id!r} at seq {e.seq}: got {got}, want {want}")


def verify(engine: Engine, progress: Progress | None = None) -> Report:
    """Replay the whole journal; the report lists every mismatch found (up to a bound)."""
    report = Report()
    with engine.connect() as conn:
        replay = _Replay(conn, report)
        last = 0
        while True:
            page = [
                entry_from_row(r)
                for r in conn.execute(
                    select(entries)
                    .where(entries.c.seq > last)
                    .order_by(entries.c.seq)
                    .limit(PAGE_ENTRIES)
                )
            ]
            if not page:
                break
            lines = {
                (r.account_id, r.seq): (r.entry_id, r.amount, r.balance_after)
                for r in conn.execute(
                    select(entry_lines).where(
                        entry_lines.c.seq > last, entry_lines.c.seq <= page[-1].seq
                    )
                )
            }
            leaves = {
                r.seq: (r.leaf_index, r.leaf.encode(), bytes(r.leaf_hash))
                for r in conn.execute(
                    select(token_leaves).where(
                        token_leaves.c.seq > last, token_leaves.c.seq <= page[-1].seq
                    )
                )
            }
            for e in page:
                replay.entry(e, lines)
                replay.token_leaf(e, leaves)
            for (account_id, seq), _line in sorted(lines.items()):
                report.problem(f"history line of {account_id!r} at seq {seq} has no entry")
            for seq in sorted(leaves):
                report.problem(f"token log leaf at seq {seq} has no entry")
            last = page[-1].seq
            report.entries += len(page)
            if progress is not None:
                progress(len(page))
        _check_projections(conn, replay, report)
        _check_merkle_nodes(conn, replay, report)
    return report


def _check_merkle_nodes(conn: Connection, replay: _Replay, report: Report) -> None:
    digests: dict[int, bytes] = {}
    counts: dict[int, int] = {}
    last: tuple[int, int] = (-1, -1)
    while True:
        rows = conn.execute(
            select(merkle_nodes)
            .where(tuple_(merkle_nodes.c.level, merkle_nodes.c.idx) > last)
            .order_by(merkle_nodes.c.level, merkle_nodes.c.idx)
            .limit(PAGE_ENTRIES)
        ).all()
        if not rows:
            break
        for r in rows:
            digests[r.level] = keccak256(digests.get(r.level, b""), bytes(r.hash))
            counts[r.level] = counts.get(r.level, 0) + 1
        last = (rows[-1].level, rows[-1].idx)
    for level in sorted(set(digests) | set(replay.level_digests)):
        if (digests.get(level), counts.get(level)) != (
            replay.level_digests.get(level),
            replay.level_counts.get(level),
        ):
            report.problem(
                f"token log Merkle nodes at level {level} differ from the replay "
                f"({counts.get(level, 0)} stored, {replay.level_counts.get(level, 0)} derived)"
            )


def _check_projections(conn: Connection, replay: _Replay, report: Report) -> None:
    head = conn.execute(select(journal_head).where(journal_head.c.id == 1)).one()
    if (head.seq, bytes(head.hash)) != (replay.expected_seq - 1, replay.prev_hash):
        report.problem(
            f"journal head says seq {head.seq}, the replay ends at {replay.expected_seq - 1} "
            "(or the head hash differs)"
        )
    stored = {r.account_id: r for r in conn.execute(select(balances))}
    for account_id, acc in sorted(replay.accounts.items()):
        row = stored.pop(account_id, None)
        want = (acc.balance, acc.pending_out, acc.pending_in)
        got = None if row is None else (row.balance, row.pending_out, row.pending_in)
        if got != want:
            report.problem(f"balance of {account_id!r}: stored {got}, replay gives {want}")
    for account_id in sorted(stored):
        report.problem(f"balance row {account_id!r} has no account")
    totals: dict[str, int] = {}
    for acc in replay.accounts.values():
        totals[acc.asset] = totals.get(acc.asset, 0) + acc.balance
    for code, total in sorted(totals.items()):
        if total != 0:
            report.problem(f"asset {code} sums to {total}, not zero")


def count_entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(entries)).scalar_one())
