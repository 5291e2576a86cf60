"""The monitor (``azora audit watch``) on a real anvil: honest anchors pass and resume from
the state file; a forged checkpoint, a rewritten log and an anchor claiming a size the log
never had are each caught, with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from chain.errors import ChainError
from chain.localnode import LocalNode
from chain.monitor import HttpLogApi, Inconsistent, Monitor
from chain.token import AnchoredEvent, AzoraToken
from chain.watch_state import StateError, WatchState
from ledger.tlog import Checkpoint, NoteSigner, parse_signing_key, sign_checkpoint
from tests.integration.anchoring.checkpointkit import Service, serve, service, settings_for
from tests.integration.anchoring.conftest import rewrite_first_leaf

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]
__all__ = ["service"]  # the fixture


class Watcher:
    """A monitor over ``service`` writing to ``lines``, its state in ``path``."""

    def __init__(self, service: Service, path: Path, api: HttpLogApi | None = None) -> None:
        self.service, self.path, self.api = service, path, api
        self.lines: list[str] = []

    def poll(self, token: AzoraToken | None = None, **kwargs: Any) -> int:
        token = token or self.service.token
        state = WatchState.open(self.path, 31337, token.address)
        return Monitor(token, state, api=self.api, out=self.lines.append, **kwargs).poll()


def _api(service: Service) -> HttpLogApi:
    return HttpLogApi("http://testserver", client=service.client)


def test_honest_anchors_pass_and_the_monitor_resumes(service: Service, tmp_path: Path) -> None:
    watcher = Watcher(service, tmp_path / "watch.json", _api(service))
    service.earn(3)
    service.anchor()
    assert watcher.poll() == 1  # a fresh monitor checks what is on chain already
    assert "first anchor; size pinned by the log's root" in watcher.lines[0]
    assert watcher.lines[1].startswith("pinned the log's key azora-ledger/31337/")
    assert watcher.lines[2].startswith("checkpoint: size 3 ")
    for n in (2, 5):
        service.earn(n)
        service.anchor()
    watcher.lines.clear()
    assert watcher.poll() == 2  # followed from the events, one line per anchor
    first, second, checkpoint = watcher.lines
    assert first.startswith("anchor 1: size 5 ") and " tx 0x" in first
    assert "extends anchor 0 (size 3); the proof it sent verifies" in first
    assert "the API's consistency proof verifies" in first
    assert "size pinned by the log's root (the proof also fits sizes 5..8)" in first
    assert second.startswith("anchor 2: size 10 ")
    assert checkpoint.startswith("checkpoint: size 10 ")
    state = json.loads((tmp_path / "watch.json").read_text())
    assert state["last"]["index"] == 2 and state["checkpoint_size"] == 10
    watcher.lines.clear()
    assert watcher.poll() == 0 and watcher.lines == []  # nothing new: nothing printed
    with pytest.raises(StateError, match="follows"):
        WatchState.open(tmp_path / "watch.json", 1, service.token.address)


def test_without_the_api_unpinned_sizes_are_flagged(service: Service, tmp_path: Path) -> None:
    watcher = Watcher(service, tmp_path / "watch.json")
    for n in (3, 1, 4):
        service.earn(n)
        service.anchor()
        watcher.poll()
    first, pinned, unpinned = watcher.lines
    assert "UNPINNED: the size of a first anchor is proven by nothing" in first
    assert "UNPINNED" not in pinned  # 3 -> 4: an odd size grown by one is pinned
    assert "UNPINNED: the proof also fits sizes 5..8" in unpinned


def _log_signer(service: Service, tmp_path: Path) -> NoteSigner:
    origin = service.get("/v1/checkpoint").text.split("\n", 1)[0]
    return parse_signing_key((tmp_path / "data" / "log-signing-key").read_text(), origin)


class ServedCheckpoint(HttpLogApi):
    """The service's API, but serving ``note`` as its checkpoint."""

    def __init__(self, service: Service, note: str) -> None:
        super().__init__("http://testserver", client=service.client)
        self.note = note

    def checkpoint(self) -> str:
        return self.note


@pytest.mark.parametrize(
    "forgery", ["another key", "a root never anchored", "a size never anchored"]
)
def test_a_forged_checkpoint_is_caught(service: Service, tmp_path: Path, forgery: str) -> None:
    service.earn(4)
    service.anchor()
    watcher = Watcher(service, tmp_path / "watch.json", _api(service))
    watcher.poll()  # pins the genuine key
    log_key = _log_signer(service, tmp_path)
    held = service.token.anchor_at(0)
    if forgery == "another key":
        signer, size, root = NoteSigner(log_key.name, b"\x66" * 32), 4, held.root
        expected = "does not verify"
    elif forgery == "a root never anchored":
        signer, size, root = log_key, 4, bytes(32)
        expected = "split view"
    else:
        signer, size, root = log_key, 5, held.root
        expected = "which no anchor on chain has"
    watcher.api = ServedCheckpoint(
        service, sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    )
    with pytest.raises(Inconsistent, match=expected):
        watcher.poll()


@pytest.fixture
def pg_service(pg_url: str, node: LocalNode, tmp_path: Path) -> Iterator[Service]:
    yield from serve(settings_for(pg_url, node, tmp_path / "data"))


def test_a_rewritten_log_is_caught(pg_service: Service, tmp_path: Path) -> None:
    for n in (2, 3):
        pg_service.earn(n)
        pg_service.anchor()
    rewrite_first_leaf(
        pg_service.container.engine,
        b'"amount":"1000000000000000000"',
        b'"amount":"9000000000000000000"',
    )
    watcher = Watcher(pg_service, tmp_path / "watch.json", _api(pg_service))
    with pytest.raises(Inconsistent, match="its history was rewritten"):
        watcher.poll()


def test_an_anchor_claiming_a_size_the_log_never_had_is_caught(
    service: Service, tmp_path: Path
) -> None:
    """DESIGN §14's limit on anvil: the root and proof of 41 sent as size 42 pass the contract."""
    service.earn(40)
    service.anchor()
    blind = Watcher(service, tmp_path / "blind.json")
    seeing = Watcher(service, tmp_path / "seeing.json", _api(service))
    blind.poll()
    seeing.poll()
    service.earn(1)
    log = service.container.proofs.log
    forged_root, proof = log.root(41), log.consistency_proof(40, 41)
    service.container.chain.token.anchor(42, forged_root, proof)  # the anchoring key, misused
    assert service.token.anchor_at(1).tree_size == 42
    service.earn(1)  # the log really reaches 42, with another root
    worker = service.container.chain.anchor_worker()
    assert worker.run_once(now=True).action in ("idle", "confirmed", "halted")
    blind.lines.clear()
    blind.poll()
    (line,) = blind.lines
    assert line.startswith("anchor 1: size 42 ") and "the proof it sent verifies" in line
    assert "UNPINNED: the proof also fits sizes 41..48" in line
    with pytest.raises(Inconsistent, match=r"log's root at size 42 .* never had"):
        seeing.poll()


class NarrowNode(AzoraToken):
    """A node that refuses eth_getLogs over more than ``LIMIT`` blocks, as public ones do."""

    LIMIT = 2
    ranges: ClassVar[list[tuple[int, int]]] = []

    def anchored_events(
        self, from_block: int = 0, to_block: int | str = "latest"
    ) -> list[AnchoredEvent]:
        assert isinstance(to_block, int)
        self.ranges.append((from_block, to_block))
        if to_block - from_block + 1 > self.LIMIT:
            raise ChainError("query exceeds the block range limit")
        return super().anchored_events(from_block, to_block)


def test_event_ranges_are_bounded_and_halved_when_refused(service: Service, tmp_path: Path) -> None:
    service.earn(1)
    service.anchor()
    watcher = Watcher(service, tmp_path / "watch.json")
    narrow = NarrowNode(service.token.w3, service.token.address)
    watcher.poll(narrow, max_blocks=7)
    start = narrow.w3.eth.block_number
    for _ in range(5):
        service.earn(1)
        service.anchor()
    assert watcher.poll(narrow, max_blocks=7) == 5
    assert all(b - a + 1 <= 7 for a, b in narrow.ranges)
    served = sorted((a, b) for a, b in narrow.ranges if b - a + 1 <= NarrowNode.LIMIT)
    assert served[0][0] == start + 1 and served[-1][1] == narrow.w3.eth.block_number
    assert [line.split(":")[0] for line in watcher.lines[-5:]] == [
        f"anchor {i}" for i in range(1, 6)
    ]


def test_the_watch_command_exits_by_its_verdict(
    service: Service, node: LocalNode, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from azora.cli import main

    service.earn(2)
    service.anchor()
    state = tmp_path / "watch.json"
    base = ["audit", "watch", "--rpc", node.rpc_url, "--contract", service.token.address]
    runner = CliRunner()
    first = runner.invoke(main, [*base, "--state", str(state), "--once"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"watching {service.token.address} on chain 31337")
    assert "anchor 0: size 2 " in first.output
    again = runner.invoke(main, [*base, "--state", str(state), "--once"])
    assert again.exit_code == 0 and "anchor 0" not in again.output  # resumed
    pinned = json.loads(state.read_text())
    pinned["key"] = NoteSigner("example.com/log", b"\x01" * 32).verifier.encode()
    state.write_text(json.dumps(pinned))
    other_key = NoteSigner("example.com/log", b"\x02" * 32).verifier.encode()
    refused = runner.invoke(main, [*base, "--state", str(state), "--key", other_key, "--once"])
    assert refused.exit_code == 1, refused.output
    assert refused.output.startswith("INCONSISTENT: --key example.com/log+")
    down = runner.invoke(
        main, ["audit", "watch", "--rpc", "http://127.0.0.1:9", "--contract", service.token.address]
    )
    assert down.exit_code == 2 and down.output.startswith("UNCHECKABLE: "), down.output
    state.write_text("{broken")
    broken = runner.invoke(main, [*base, "--state", str(state), "--once"])
    assert broken.exit_code == 2 and "cannot read the state file" in broken.output
