"""The monitor's state file: round trip, atomic rewrite, and refusals with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain.watch_state import Head, StateError, WatchState

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_a_saved_state_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "watch.json"
    state = WatchState.open(path, 31337, CONTRACT)
    assert state == WatchState(31337, CONTRACT)
    state.next_block, state.last, state.key = 12, Head(3, 41, b"\x07" * 32), "k+00000000+AA=="
    state.save()
    assert WatchState.open(path, 31337, CONTRACT.lower()) == state
    assert [p.name for p in path.parent.iterdir()] == ["watch.json"]  # no scratch file left


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"version": 2}),
        json.dumps({"version": 1, "chain_id": 31337}),
        json.dumps(
            {
                "version": 1,
                "chain_id": 31337,
                "contract": CONTRACT,
                "next_block": 1,
                "last": {"index": 0, "tree_size": 0, "root": "0x" + "00" * 32},
                "key": None,
                "origin": None,
                "checkpoint_size": None,
            }
        ),
        json.dumps(
            {
                "version": 1,
                "chain_id": 31337,
                "contract": CONTRACT,
                "next_block": 1,
                "last": {"index": 0, "tree_size": 3, "root": "0x12"},
                "key": None,
                "origin": None,
                "checkpoint_size": None,
            }
        ),
    ],
)
def test_an_unreadable_state_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "watch.json"
    path.write_text(content)
    with pytest.raises(StateError, match="state"):
        WatchState.open(path, 31337, CONTRACT)


def test_a_state_of_another_deployment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "watch.json"
    WatchState(31337, CONTRACT, next_block=5, path=path).save()
    with pytest.raises(StateError, match="follows"):
        WatchState.open(path, 1, CONTRACT)
    with pytest.raises(StateError, match="follows"):
        WatchState.open(path, 31337, "0x" + "11" * 20)
