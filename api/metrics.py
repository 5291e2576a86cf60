"""The service's counters and histograms, kept per process and rendered in Prometheus text.

:class:`ServiceMetrics` is built once per process by the composition root and handed to
whatever counts: the ledger's writers (``ledger.metrics.WriterMetrics``), the chain
connection (``chain.connect.RpcMetrics``) and payments (``monetization.payments.
PaymentMetrics``). Each of those packages declares the few methods it calls and imports
nothing of this one; this class has them all.

Every series carries the process id as a ``pid`` label (as the request latency does):
each worker process counts only what it did, and a process that restarts starts again
from zero (``rate()`` and ``increase()`` handle that). Sum over ``pid`` for the service's
totals. Figures read from the database at scrape time (:mod:`api.routers.ops`) are global
instead and carry no ``pid``.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Callable, Sequence

from ledger.metrics import OUTCOMES as ENTRY_OUTCOMES

LabelValues = tuple[str, ...]

LOCK_WAIT_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Sequence[str], values: LabelValues, pid: int) -> str:
    pairs = [f'{n}="{escape(v)}"' for n, v in zip(names, values, strict=True)]
    return ",".join([*pairs, f'pid="{pid}"'])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}"


class Counter:
    """A counter by label values; thread-safe."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help_text, self.labels = name, help_text, tuple(labels)
        self._lock = threading.Lock()
        self._values: dict[LabelValues, int] = {}

    def inc(self, *values: str, by: int = 1) -> None:
        with self._lock:
            self._values[values] = self._values.get(values, 0) + by

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} counter"]
        pid = os.getpid()
        with self._lock:
            for values, total in sorted(self._values.items()):
                lines.append(f"{self.name}{{{_labels(self.labels, values, pid)}}} {total}")
        return lines


class _Series:
    __slots__ = ("buckets", "count", "total")

    def __init__(self, size: int) -> None:
        self.buckets, self.total, self.count = [0] * size, 0.0, 0


class Histogram:
    """A histogram by label values in fixed buckets; thread-safe. Past ``max_series``
    label combinations, a new one is counted under ``overflow(values)`` instead."""

    def __init__(
        self,
        name: str,
        help_text: str,
        buckets: Sequence[float],
        labels: Sequence[str] = (),
        *,
        max_series: int | None = None,
        overflow: Callable[[LabelValues], LabelValues] | None = None,
    ) -> None:
        self.name, self.help_text, self.labels = name, help_text, tuple(labels)
        self.bounds = tuple(buckets)
        self._max_series, self._overflow = max_series, overflow
        self._lock = threading.Lock()
        self._series: dict[LabelValues, _Series] = {}
        if not self.labels:  # one series: served (at zero) from the start
            self._series[()] = _Series(len(self.bounds) + 1)

    def observe(self, value: float, *values: str) -> None:
        with self._lock:
            series = self._series.get(values)
            if series is None:
                full = self._max_series is not None and len(self._series) >= self._max_series
                if full and self._overflow is not None:
                    values = self._overflow(values)
                series = self._series.setdefault(values, _Series(len(self.bounds) + 1))
            series.buckets[bisect.bisect_left(self.bounds, value)] += 1
            series.total += value
            series.count += 1

    def render(self) -> list[str]:
        name = self.name
        lines = [f"# HELP {name} {self.help_text}", f"# TYPE {name} histogram"]
        pid = os.getpid()
        with self._lock:
            for values, series in sorted(self._series.items()):
                labels = _labels(self.labels, values, pid)
                running = 0
                for bound, count in zip((*self.bounds, "+Inf"), series.buckets, strict=True):
                    running += count
                    lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
                lines.append(f"{name}_sum{{{labels}}} {_number(series.total)}")
                lines.append(f"{name}_count{{{labels}}} {series.count}")
        return lines


class ServiceMetrics:
    """What this process counted: ledger writes, chain RPC errors, charge attempts."""

    def __init__(self) -> None:
        self.entries = Counter(
            "azora_ledger_entries_total",
            "Commands decided by the journal writer, by outcome "
            "(committed, replayed, rejected, unavailable).",
            ("outcome",),
        )
        for outcome in ENTRY_OUTCOMES:
            self.entries.inc(outcome, by=0)  # served (at zero) from the start
        self.head_lock_wait = Histogram(
            "azora_ledger_head_lock_wait_seconds",
            "Time from a write transaction's start until it held the journal head lock "
            "(with the batch's reads, sent in the same round trip; for a batch written in "
            "one round trip from the writer's cache, until that round trip was back).",
            LOCK_WAIT_BUCKETS_S,
        )
        self.batch_entries = Histogram(
            "azora_ledger_batch_entries",
            "Entries committed per write transaction (group commit's batch size).",
            BATCH_BUCKETS,
        )
        self.rpc_errors = Counter(
            "azora_chain_rpc_errors_total",
            "Failed JSON-RPC calls to the chain, by method and kind "
            "(timeout, connection, http, rpc, other).",
            ("method", "kind"),
        )
        self.charges = Counter(
            "azora_billing_charges_total",
            "Charge attempts by purpose and outcome (succeeded, declined, unavailable: "
            "tried again on the next run).",
            ("purpose", "outcome"),
        )

    # ledger.metrics.WriterMetrics
    def head_lock_held(self, waited_s: float) -> None:
        self.head_lock_wait.observe(waited_s)

    def batch_written(self, entries: int) -> None:
        self.batch_entries.observe(entries)

    def entries_decided(self, outcome: str, count: int) -> None:
        self.entries.inc(outcome, by=count)

    # chain.connect.RpcMetrics
    def rpc_failed(self, method: str, kind: str) -> None:
        self.rpc_errors.inc(method, kind)

    # monetization.payments.PaymentMetrics
    def charge_attempted(self, purpose: str, outcome: str) -> None:
        self.charges.inc(purpose, outcome)

    def render(self) -> list[str]:
        parts = (self.entries, self.head_lock_wait, self.batch_entries, self.rpc_errors)
        return [line for part in (*parts, self.charges) for line in part.render()]
