"""An anchoring key with ANCHOR_ROLE but no ether for gas: a clear alert, a bounded retry,
nothing recorded as sent; funded again, anchoring goes on by itself."""

from __future__ import annotations

import logging
import threading

import pytest
from eth_account import Account
from sqlalchemy import Engine, func, select

from chain.anchoring import AnchorSettings
from chain.localnode import LocalNode
from chain.runtime import ChainConfig, ChainRuntime
from chain.sender import TxSettings
from chain.tables import anchors
from chain.token import ANCHOR_ROLE
from ledger import Ledger
from tests.integration.anchoring.conftest import earn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TX = TxSettings(poll_interval_s=0.005, receipt_timeout_s=20.0)


def test_an_unfunded_anchoring_key_is_reported_and_not_retried_in_a_storm(
    pg: Engine, node: LocalNode, caplog: pytest.LogCaptureFixture
) -> None:
    admin = ChainRuntime(pg, ChainConfig(node.rpc_url, tx=TX))
    token = admin.deploy()
    poor = Account.create()
    admin.token.grant_role(ANCHOR_ROLE, poor.address)
    runtime = ChainRuntime(
        pg,
        ChainConfig(node.rpc_url, token_address=token.address, tx=TX, signing_key=poor.key.hex()),
    )
    worker = runtime.anchor_worker(AnchorSettings(interval_s=3600))
    with Ledger(pg) as book:
        earn(book, 1, 3)
    with caplog.at_level(logging.WARNING):
        stop = threading.Event()
        loop = threading.Thread(target=worker.run_forever, args=(stop, 0.05))
        loop.start()
        stop.wait(3.0)
        stop.set()
        loop.join(timeout=30)
    failures = [r for r in caplog.records if "anchoring round failed" in r.getMessage()]
    alerts = [r for r in caplog.records if "ALERT anchoring unfunded" in r.getMessage()]
    # Backoff doubles from the poll interval: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s fill 3 s.
    assert 1 <= len(failures) <= 6, [r.getMessage() for r in failures]
    assert len(alerts) == 1, "one alert, however many rounds fail"
    health = runtime.health()
    assert [a.kind for a in health.alerts] == ["unfunded"]
    assert poor.address in health.alerts[0].detail
    assert runtime.sender.confirmed_nonce() == 0  # nothing went out

    web3 = admin.token.w3
    web3.provider.make_request("anvil_setBalance", [poor.address, hex(10**18)])  # type: ignore[arg-type]
    worker.run_once(now=True)
    assert worker.run_once(now=True).action in ("confirmed", "idle", "not-due")
    with pg.connect() as conn:
        statuses: dict[str, int] = dict(
            conn.execute(select(anchors.c.status, func.count()).group_by(anchors.c.status)).all()
        )
    assert statuses == {"confirmed": 1}, statuses
    assert not runtime.health().alerts  # healed by itself
