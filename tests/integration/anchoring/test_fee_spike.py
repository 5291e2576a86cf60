"""A base-fee spike on a real anvil while anchoring runs.

Within the fee cap, an anchor stuck below the new base fee (anvil drops it from its pool
when it mines past it; geth keeps it forever) is signed again at its nonce with bumped fees
and lands. Above the cap nothing is signed: one ``fee-cap`` alert, rounds bounded by the
backoff, and anchoring goes on by itself once fees fall.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, select

from chain.anchoring import AnchorSettings, AnchorWorker
from chain.localnode import LocalNode
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from chain.tables import anchors
from ledger import Ledger
from tests.integration.anchoring.conftest import earn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GWEI = 10**9
CAP_GWEI = 40


def _runtime(pg: Engine, node: LocalNode) -> tuple[ChainRuntime, AnchorWorker]:
    tx = TxSettings(
        poll_interval_s=0.005, receipt_timeout_s=1.0, max_fee_per_gas_cap_wei=CAP_GWEI * GWEI
    )
    runtime = ChainRuntime(pg, ChainConfig(node.rpc_url, tx=tx))
    runtime.deploy()
    return runtime, runtime.anchor_worker(AnchorSettings(interval_s=3600))


def _rpc(runtime: ChainRuntime, method: str, *params: Any) -> Any:
    return runtime.token.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


def _rows(pg: Engine) -> list[Any]:
    with pg.connect() as conn:
        return list(conn.execute(select(anchors).order_by(anchors.c.id)))


def test_an_anchor_stuck_below_a_spiked_base_fee_is_replaced_with_bumped_fees(
    pg: Engine, node: LocalNode
) -> None:
    runtime, worker = _runtime(pg, node)
    with Ledger(pg) as book:
        earn(book, 1, 4)
    _rpc(runtime, "evm_setAutomine", False)
    assert worker.run_once(now=True).action == "waiting"  # sent, in the pool, not mined
    (sent,) = _rows(pg)
    w3 = runtime.token.w3
    old_max_fee = int(w3.eth.get_transaction(sent.tx_hash)["maxFeePerGas"])
    _rpc(runtime, "anvil_setNextBlockBaseFeePerGas", hex(30 * GWEI))
    _rpc(runtime, "evm_mine")  # the block's base fee is above the anchor's max fee
    assert old_max_fee < 30 * GWEI
    assert runtime.token.anchor_count() == 0
    _rpc(runtime, "evm_setAutomine", True)

    replaced = worker.run_once()  # automine: the replacement lands within the round
    assert replaced.action == "anchored" and "replaced by" in replaced.detail, replaced
    (row,) = _rows(pg)
    assert row.nonce == sent.nonce and row.tx_hash != sent.tx_hash
    new = w3.eth.get_transaction(row.tx_hash)
    assert new["nonce"] == sent.nonce
    assert w3.eth.get_block("latest")["baseFeePerGas"] <= new["maxFeePerGas"] <= CAP_GWEI * GWEI
    assert new["maxFeePerGas"] >= old_max_fee * 9 // 8  # a bump nodes accept as replacement

    assert worker.run_once().action == "idle"
    assert runtime.token.anchor_count() == 1 and runtime.token.anchor_at(0).tree_size == 4
    assert [(r.status, r.tx_hash) for r in _rows(pg)] == [("confirmed", row.tx_hash)]
    assert not runtime.health().alerts


def test_a_spike_above_the_cap_alerts_once_backs_off_and_recovers_when_fees_fall(
    pg: Engine, node: LocalNode, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, worker = _runtime(pg, node)
    with Ledger(pg) as book:
        earn(book, 1, 3)
    _rpc(runtime, "anvil_setNextBlockBaseFeePerGas", hex(10 * CAP_GWEI * GWEI))
    first_nonce = runtime.sender.confirmed_nonce()
    stop = threading.Event()
    loop = threading.Thread(target=worker.run_forever, args=(stop, 0.05))
    with caplog.at_level(logging.WARNING):
        loop.start()
        stop.wait(3.0)
        failures = [r for r in caplog.records if "anchoring round failed" in r.getMessage()]
        alerts = [r for r in caplog.records if "ALERT anchoring fee-cap" in r.getMessage()]
        health = runtime.health()
        nothing_sent = runtime.sender.confirmed_nonce() == first_nonce and not _rows(pg)

        _rpc(runtime, "anvil_setNextBlockBaseFeePerGas", hex(GWEI))  # fees fall
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and runtime.token.anchor_count() == 0:
            time.sleep(0.1)
        time.sleep(0.3)  # the round that landed it clears the alert
        stop.set()
        loop.join(timeout=30)
    # Backoff doubles from the poll interval: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s fill 3 s.
    assert 1 <= len(failures) <= 6, [r.getMessage() for r in failures]
    assert len(alerts) == 1, "one alert, however many rounds fail"
    assert [a.kind for a in health.alerts] == ["fee-cap"]
    assert "AZORA_MAX_FEE_GWEI" in health.alerts[0].detail
    assert nothing_sent, "nothing signed above the cap, no nonce used"
    assert runtime.token.anchor_count() == 1, "anchoring went on by itself"
    (row,) = _rows(pg)
    assert (row.status, row.nonce) == ("confirmed", first_nonce)  # no nonce leaked meanwhile
    assert not runtime.health().alerts
