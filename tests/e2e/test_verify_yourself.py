"""README "Verify it yourself": its exact commands, against a live server and a real anvil."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from chain.localnode import LocalNode, start_anvil
from tests.e2e.conftest import ROOT, LiveServer, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BLOCK = re.compile(r"<!-- verify-yourself:start -->\n```sh\n(.*?)```", re.S)
TOKEN = 10**18


@pytest.fixture(scope="module")
def node() -> Iterator[LocalNode]:
    started = start_anvil()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def anchored_server(
    e2e_db: str, node: LocalNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    live = start_server(
        e2e_db,
        tmp_path_factory.mktemp("server") / "server.log",
        AZORA_ANCHORING="on",
        AZORA_CHAIN_RPC_URL=node.rpc_url,
        AZORA_ANCHOR_INTERVAL_S="1",
    )
    yield live
    live.stop()


def _post(
    client: httpx.Client, path: str, body: Mapping[str, object], key: str | None = None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(path, json=body, headers=headers)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _wait_for_proof(client: httpx.Client, entry_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = client.get(f"/v1/proofs/entries/{entry_id}")
        if response.status_code == 200:
            body: dict[str, object] = response.json()
            return body
        assert response.status_code == 409, response.text
        assert response.json()["type"].endswith("not-anchored")
        assert int(response.headers["Retry-After"]) >= 1
        time.sleep(0.3)
    raise AssertionError("the entry was never anchored")


def test_an_auditor_verifies_with_the_readme_commands(
    anchored_server: LiveServer, node: LocalNode, tmp_path: Path
) -> None:
    (key,) = anchored_server.bootstrap_keys()
    client = httpx.Client(
        base_url=anchored_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    for account in (
        {"id": "platform:azr:rewards", "asset": "AZR", "allow_negative": True},
        {"id": "user:7:azr", "asset": "AZR"},
    ):
        assert _post(client, "/v1/accounts", account).status_code in (200, 201)
    entry_ids = []
    for i in range(2):
        body = {
            "kind": "reward.earned",
            "postings": [
                {
                    "source": "platform:azr:rewards",
                    "destination": "user:7:azr",
                    "asset": "AZR",
                    "amount": f"{i + 1}.5",
                }
            ],
        }
        response = _post(client, "/v1/entries", body, key=f"verify-{i}")
        assert response.status_code == 201, response.text
        entry_ids.append(response.json()["id"])
        _wait_for_proof(client, entry_ids[-1])  # one anchor per entry: two anchors to compare
    anchors = httpx.get(f"{anchored_server.url}/v1/anchors").json()["data"]
    assert len([a for a in anchors if a["status"] == "confirmed"]) >= 2

    block = BLOCK.search((ROOT / "README.md").read_text())
    assert block is not None, "README lost its verify-yourself block"
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "AZORA_URL": anchored_server.url,
        "AZORA_KEY": key,
        "ENTRY_ID": entry_ids[0],
        "RPC": node.rpc_url,
    }
    run = _run(["bash", "-euo", "pipefail", "-c", block.group(1)], tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("VALID:") == 4, run.stdout  # entry, log, receipt twice
    assert "the chain was NOT consulted" in run.stdout
    assert "anchored on chain 31337" in run.stdout
    proof = json.loads((tmp_path / "proof.json").read_text())
    assert proof["entry_id"] == entry_ids[0]
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    assert {k: receipt[k] for k in ("entry_id", "leaf", "leaf_index")} == {
        k: proof[k] for k in ("entry_id", "leaf", "leaf_index")
    }
    watched = [line for line in run.stdout.splitlines() if line.startswith("anchor ")]
    assert len(watched) >= 2 and watched[0].startswith("anchor 0: "), run.stdout
    assert "checkpoint: size " in run.stdout
    assert json.loads((tmp_path / "watch.json").read_text())["last"]["index"] >= 1

    # A tampered proof is refused with a reason, exit 1; an unreachable chain is exit 2.
    forged_leaf = proof["leaf"].replace(
        '"amount":"1500000000000000000"', '"amount":"9500000000000000000"'
    )
    assert forged_leaf != proof["leaf"], "the forgery must change the leaf"
    (tmp_path / "forged.json").write_text(json.dumps({**proof, "leaf": forged_leaf}))
    forged = _run(
        ["azora", "audit", "entry", "forged.json", "--rpc", node.rpc_url, "--json"], tmp_path, env
    )
    assert forged.returncode == 1, forged.stdout + forged.stderr
    assert json.loads(forged.stdout)["verdict"] == "invalid"
    down = _run(
        ["azora", "audit", "entry", "proof.json", "--rpc", "http://127.0.0.1:9"], tmp_path, env
    )
    assert down.returncode == 2, down.stdout + down.stderr


def test_the_monitor_follows_new_anchors_as_they_land(
    anchored_server: LiveServer, node: LocalNode, tmp_path: Path
) -> None:
    (key,) = anchored_server.bootstrap_keys()
    client = httpx.Client(
        base_url=anchored_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    anchors = httpx.get(f"{anchored_server.url}/v1/anchors").json()["data"]
    contract = anchors[0]["contract"]
    watch = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "azora"),
            "audit",
            "watch",
            "--rpc",
            node.rpc_url,
            "--contract",
            contract,
            "--api",
            anchored_server.url,
            "--state",
            str(tmp_path / "watch.json"),
            "--interval",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in watch.stdout or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    def next_anchor_line() -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            assert not line.startswith("INCONSISTENT"), line
            if line.startswith("anchor "):
                return line
        raise AssertionError("the monitor printed no anchor line")

    try:
        seen = next_anchor_line()
        known = httpx.get(f"{anchored_server.url}/v1/anchors").json()["data"]
        count = 1 + max(a["index"] for a in known if a["status"] == "confirmed")
        body = {
            "kind": "reward.earned",
            "postings": [
                {
                    "source": "platform:azr:rewards",
                    "destination": "user:7:azr",
                    "asset": "AZR",
                    "amount": "3",
                }
            ],
        }
        assert _post(client, "/v1/entries", body, key="watch-1").status_code == 201
        while not seen.startswith(f"anchor {count}: "):  # the new anchor, once it lands
            seen = next_anchor_line()
        assert "extends anchor" in seen and "the API's consistency proof verifies" in seen
        assert watch.poll() is None  # still following
    finally:
        watch.terminate()
        watch.wait(timeout=10)
