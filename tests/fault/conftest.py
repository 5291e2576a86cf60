"""Shared by the fault tests: a local anvil of their own, stopped by its PID."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from chain.localnode import start_anvil
from tests.fault.pgcluster import pick_port


class Chain:
    """A local anvil that keeps its state in a file, so it can be killed and started again
    (losing the blocks since its last dump, at most ``STATE_INTERVAL_S``)."""

    def __init__(self, folder: Path) -> None:
        self.state, self.log = folder / "anvil-state.json", folder / "anvil.log"
        self.node = start_anvil(pick_port(58545), state_path=self.state, log_path=self.log)
        self.port, self.rpc_url = self.node.port, self.node.rpc_url

    def kill_and_restart(self) -> None:
        os.kill(self.node.pid, signal.SIGKILL)
        self.node.process.wait(timeout=30)
        self.node = start_anvil(self.port, state_path=self.state, log_path=self.log)

    def stop(self) -> None:
        self.node.stop()


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Chain]:
    chain = Chain(tmp_path)
    yield chain
    chain.stop()
