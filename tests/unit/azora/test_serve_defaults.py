"""``azora serve``'s default worker count: one per two CPUs, at least one."""

from __future__ import annotations

import os

import pytest

from azora.cli import serve


@pytest.mark.parametrize(("cpus", "workers"), [(None, 1), (1, 1), (2, 1), (3, 1), (4, 2), (16, 8)])
def test_one_worker_per_two_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: int | None, workers: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    assert serve.default_workers() == workers
