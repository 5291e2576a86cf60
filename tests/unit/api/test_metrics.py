"""The service's counters and histograms in Prometheus text, with no I/O."""

from __future__ import annotations

import os

import requests

from api.metrics import Counter, Histogram, ServiceMetrics
from chain.connect import error_kind


def test_a_counter_renders_one_sample_per_label_values_with_the_pid() -> None:
    counter = Counter("azora_things_total", "Things.", ("kind", "where"))
    counter.inc("a", 'x"y')
    counter.inc("a", 'x"y', by=2)
    counter.inc("b", "z")
    lines = counter.render()
    pid = os.getpid()
    assert lines[:2] == ["# HELP azora_things_total Things.", "# TYPE azora_things_total counter"]
    assert lines[2:] == [
        f'azora_things_total{{kind="a",where="x\\"y",pid="{pid}"}} 3',
        f'azora_things_total{{kind="b",where="z",pid="{pid}"}} 1',
    ]


def test_a_histogram_without_labels_is_served_at_zero_and_its_buckets_are_cumulative() -> None:
    histogram = Histogram("azora_sizes", "Sizes.", (1, 10, 100))
    zero = [line for line in histogram.render() if not line.startswith("#")]
    assert [line.rsplit(" ", 1)[1] for line in zero] == ["0"] * 6
    for value in (1, 2, 10, 11, 500):
        histogram.observe(value)
    lines = {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in histogram.render()[2:]}
    pid = os.getpid()
    buckets = [lines[f'azora_sizes_bucket{{pid="{pid}",le="{b}"}}'] for b in (1, 10, 100, "+Inf")]
    assert buckets == ["1", "3", "4", "5"]
    assert lines[f'azora_sizes_sum{{pid="{pid}"}}'] == str(1 + 2 + 10 + 11 + 500)
    assert lines[f'azora_sizes_count{{pid="{pid}"}}'] == "5"


def test_a_histogram_past_its_series_bound_counts_new_label_values_as_the_overflow() -> None:
    histogram = Histogram(
        "azora_t", "T.", (1.0,), ("route",), max_series=2, overflow=lambda _v: ("other",)
    )
    for route in ("a", "b", "c", "d", "a"):
        histogram.observe(0.5, route)
    counts = {
        line.split('route="')[1].split('"')[0]: line.rsplit(" ", 1)[1]
        for line in histogram.render()
        if line.startswith("azora_t_count")
    }
    assert counts == {"a": "2", "b": "1", "other": "2"}


def test_service_metrics_count_what_their_callers_report() -> None:
    metrics = ServiceMetrics()
    metrics.entries_decided("committed", 3)
    metrics.entries_decided("rejected", 1)
    metrics.head_lock_held(0.002)
    metrics.batch_written(3)
    metrics.rpc_failed("eth_chainId", "connection")
    metrics.charge_attempted("subscription", "declined")
    text = "\n".join(metrics.render())
    pid = os.getpid()
    assert f'azora_ledger_entries_total{{outcome="committed",pid="{pid}"}} 3' in text
    assert f'azora_ledger_entries_total{{outcome="unavailable",pid="{pid}"}} 0' in text
    assert f'azora_ledger_head_lock_wait_seconds_count{{pid="{pid}"}} 1' in text
    assert f'azora_ledger_batch_entries_sum{{pid="{pid}"}} 3' in text
    assert 'azora_chain_rpc_errors_total{method="eth_chainId",kind="connection"' in text
    assert 'azora_billing_charges_total{purpose="subscription",outcome="declined"' in text


def test_rpc_failures_are_named_by_kind() -> None:
    assert error_kind(requests.exceptions.ConnectTimeout("t")) == "timeout"
    assert error_kind(requests.exceptions.ConnectionError("c")) == "connection"
    assert error_kind(requests.exceptions.HTTPError("500")) == "http"
    assert error_kind(ValueError("odd")) == "other"
