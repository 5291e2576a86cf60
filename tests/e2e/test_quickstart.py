"""The README quickstart, run as written against a fresh server, like a newcomer would."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, LiveServer, start_server

pytestmark = pytest.mark.integration

README = ROOT / "README.md"
_BLOCK = re.compile(r"<!-- quickstart:begin -->\s*```sh\n(.*?)```\s*<!-- quickstart:end -->", re.S)


def quickstart_commands() -> list[str]:
    """The tested block's commands, continuation lines joined, comments dropped."""
    match = _BLOCK.search(README.read_text())
    assert match, "README.md lost its quickstart block"
    commands: list[str] = []
    pending = ""
    for line in match.group(1).splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(pending)
            pending = ""
    return commands


def run_quickstart(server: LiveServer, key: str) -> list[Any]:
    """Run every command in one shell session (exports carry over); one JSON answer each."""
    commands = quickstart_commands()
    script = "set -euo pipefail\n" + "\n".join(
        c if c.startswith("export ") else f"{c}; echo" for c in commands
    )
    script = script.replace("http://127.0.0.1:8000", server.url)
    done = subprocess.run(
        ["bash", "-c", script],
        env={**server.env, "AZORA_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_readme_quickstart_works_as_written(server: LiveServer, admin_key: str) -> None:
    assert "AZORA_KEY" in server.log(), "the server must print how to get a key"
    answers = run_quickstart(server, admin_key)
    world, alice, bob, funding, payment, balance, history, batch, accounts, listed = answers
    assert world["id"] == "world:card" and alice["balance"] == "0.00" and bob["id"]
    assert funding["status"] == "posted" and funding["postings"][0]["amount"] == "100.00"
    assert payment["postings"][0]["amount"] == "25.50"
    assert (balance["balance"], balance["available"]) == ("74.50", "74.50")
    assert [h["amount"] for h in history["data"]] == ["-25.50", "100.00"]
    assert [h["balance_after"] for h in history["data"]] == ["74.50", "100.00"]
    assert history["next_cursor"] is None
    assert [r["status"] for r in batch["results"]] == [201, 201]
    assert [r["entry"]["postings"][0]["amount"] for r in batch["results"]] == ["1.50", "0.50"]
    assert [a["id"] for a in accounts["data"]] == ["user:alice:usd", "user:bob:usd"]
    assert [e["id"] for e in listed["data"]] == [payment["id"]]

    # Pasting the block again changes nothing: accounts exist, entries are replays.
    again = run_quickstart(server, admin_key)
    assert again[3] == funding and again[4] == payment
    # (step 4 now shows the batch of step 6 too: 74.50 + 1.50 + 0.50)
    assert again[5]["balance"] == "76.50" and len(again[6]["data"]) == 2 + 2
    assert [r["replayed"] for r in again[7]["results"]] == [True, True]
    assert [r["entry"]["id"] for r in again[7]["results"]] == [
        r["entry"]["id"] for r in batch["results"]
    ]


def test_bootstrap_key_is_printed_once(server: LiveServer, admin_key: str, tmp_path: Path) -> None:
    assert admin_key.startswith("azora_bootstrap_")
    restarted = start_server(server.database_url, tmp_path / "second.log")
    try:
        assert restarted.bootstrap_keys() == [], "a restart must not print or make a key"
    finally:
        restarted.stop()
