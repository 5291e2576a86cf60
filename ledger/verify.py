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
  head all equal what the replay derives, and every asset sums to zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select

from ledger.journal import balance_deltas, entry_from_row
from ledger.model import GENESIS_HASH, Entry, EntryType
from ledger.store.tables import accounts, balances, entries, entry_lines, journal_head

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
            for e in page:
                replay.entry(e, lines)
            for (account_id, seq), _line in sorted(lines.items()):
                report.problem(f"history line of {account_id!r} at seq {seq} has no entry")
            last = page[-1].seq
            report.entries += len(page)
            if progress is not None:
                progress(len(page))
        _check_projections(conn, replay, report)
    return report


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
