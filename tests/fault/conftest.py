"""Shared by the fault tests: a local anvil of their own, stopped by its PID."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chain.localnode import LocalNode, start_anvil
from tests.fault.pgcluster import pick_port


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[LocalNode]:
    node = start_anvil(pick_port(58545), log_path=tmp_path / "anvil.log")
    yield node
    node.stop()
