"""What the journal writers report while they work, for whoever counts (``/metrics``).

The ledger imports nothing of the HTTP layer: the composition root hands a writer an object
with the three methods of :class:`WriterMetrics` (or nothing: :data:`NO_METRICS`), and the
writer calls them through a :class:`WriterRecorder`:

- ``head_lock_held(waited_s)``: one write transaction got the journal head's row lock,
  ``waited_s`` after it started (on PostgreSQL the batch's reads travel in the same round
  trip as the lock, so the figure includes them; alone, it is that round trip; a batch
  written in one round trip from the writer's cache takes the lock inside its write
  statement, and reports when that statement has returned);
- ``batch_written(entries)``: one write transaction committed ``entries`` new entries (a
  hold resolved counts as one; a transaction whose commands were all refused or replays
  writes nothing and is not counted);
- ``entries_decided(outcome, count)``: ``count`` commands had ``outcome``: ``committed``
  (written now), ``replayed`` (an idempotent retry answered with the earlier entry),
  ``rejected`` (refused by the ledger's rules: funds, validation, conflicts) or
  ``unavailable`` (the database failed; nothing was written for them).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from ledger.commands import Outcome
from ledger.errors import LedgerError, Unavailable
from ledger.model import HoldState, Posted

OUTCOMES = ("committed", "replayed", "rejected", "unavailable")


class WriterMetrics(Protocol):
    def head_lock_held(self, waited_s: float) -> None: ...

    def batch_written(self, entries: int) -> None: ...

    def entries_decided(self, outcome: str, count: int) -> None: ...


class _NoMetrics:
    def head_lock_held(self, waited_s: float) -> None:
        pass

    def batch_written(self, entries: int) -> None:
        pass

    def entries_decided(self, outcome: str, count: int) -> None:
        pass


NO_METRICS: WriterMetrics = _NoMetrics()


def outcome_of(outcome: Outcome | BaseException) -> str:
    """The label of one command's outcome (an exception: its whole batch failed)."""
    if isinstance(outcome, Posted):
        return "replayed" if outcome.replayed else "committed"
    if isinstance(outcome, HoldState):
        return "committed"
    if isinstance(outcome, LedgerError) and not isinstance(outcome, Unavailable):
        return "rejected"
    return "unavailable"


class WriterRecorder:
    """The writer's side of :class:`WriterMetrics`: one call per event it reports."""

    def __init__(self, metrics: WriterMetrics = NO_METRICS) -> None:
        self.metrics = metrics

    def lock_timer(self) -> Callable[[], None]:
        """A ``locked`` for :func:`ledger.journal.commit_batch`: called once the transaction
        holds the journal head (on the one-round-trip path, once its write statement, which
        takes the lock, has returned), it reports the wait since now, once."""
        started = time.perf_counter()
        reported = False

        def held() -> None:
            nonlocal reported
            if not reported:
                reported = True
                self.metrics.head_lock_held(time.perf_counter() - started)

        return held

    def written(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """One committed transaction's outcomes (returned as they are)."""
        entries = sum(outcome_of(o) == "committed" for o in outcomes)
        if entries:
            self.metrics.batch_written(entries)
        return list(outcomes)

    def decided(self, outcomes: Sequence[Outcome | BaseException]) -> None:
        """Every command's final outcome, once."""
        for outcome, count in Counter(outcome_of(o) for o in outcomes).items():
            self.metrics.entries_decided(outcome, count)
