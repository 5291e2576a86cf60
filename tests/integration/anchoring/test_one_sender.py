"""Anchors and withdrawals share the signing key's one sender: they never race for a nonce.

On a real anvil and PostgreSQL, the anchoring worker anchors every second while withdrawals
(mints) run from several threads, all built from one ChainRuntime as the composition root
builds them. Before the runtime, the worker and each minter numbered nonces with their own
sender: two of them took the same nonce under this load, and an anchor or a mint failed.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select

from chain.anchoring import AnchorSettings
from chain.localnode import LocalNode
from chain.runtime import ChainConfig, ChainRuntime
from chain.saga import TxState
from chain.sender import TxSettings
from chain.tables import anchors
from ledger import Ledger
from monetization.rewards import CatalogItem, ItemType, RedemptionStatus, Rewards
from monetization.rewards.model import MintState

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AZR = 10**18
THREADS = 4
WITHDRAWALS_PER_THREAD = 8
ANCHOR_INTERVAL_S = 1.0
ADDRESS = "0x" + "cd" * 20


def _runtime(engine: Engine, rpc_url: str) -> ChainRuntime:
    tx = TxSettings(poll_interval_s=0.005, receipt_timeout_s=30.0)
    runtime = ChainRuntime(engine, ChainConfig(rpc_url, tx=tx))
    runtime.deploy()
    return runtime


def _withdraw_many(rewards: Rewards, thread: int, errors: list[BaseException]) -> None:
    try:
        for i in range(WITHDRAWALS_PER_THREAD):
            user = f"t{thread}u{i}"
            for lesson in range(2):  # 2 x 5 AZR: one withdrawal of 10
                rewards.earnings.earn(f"earn-{user}-{lesson}", user, "lesson.completed")
            held, _ = rewards.redemptions.request(user, "azr-10", f"w-{user}", eth_address=ADDRESS)
            rewards.redemptions.process(held.id)
    except BaseException as error:  # the test reports it
        errors.append(error)


def test_anchors_and_concurrent_withdrawals_share_one_nonce_sequence(
    pg: Engine, node: LocalNode
) -> None:
    runtime = _runtime(pg, node.rpc_url)
    deployed_nonces = runtime.sender.confirmed_nonce()  # the deployment's
    stop = threading.Event()
    rounds: list[str] = []
    errors: list[BaseException] = []
    with Ledger(pg) as book:
        # Two services as in one process (request path, maintenance), one minter.
        services = [Rewards(book, minter=lambda: runtime.minter) for _ in range(2)]
        services[0].redemptions.put_item(
            CatalogItem("azr-10", "Withdraw 10 AZR", ItemType.ONCHAIN_WITHDRAWAL, 10 * AZR)
        )
        worker = runtime.anchor_worker(AnchorSettings(interval_s=ANCHOR_INTERVAL_S))

        def anchor_loop() -> None:
            while not stop.is_set():
                try:
                    rounds.append(worker.run_once().action)
                except BaseException as error:
                    errors.append(error)
                stop.wait(0.1)

        anchoring = threading.Thread(target=anchor_loop)
        anchoring.start()
        started = time.monotonic()
        threads = [
            threading.Thread(target=_withdraw_many, args=(services[t % 2], t, errors))
            for t in range(THREADS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        # Keep anchoring a little longer than the interval so the last leaves are anchored.
        while time.monotonic() - started < 3 * ANCHOR_INTERVAL_S:
            time.sleep(0.1)
        stop.set()
        anchoring.join(timeout=60)
        final = worker.run_once(now=True)
        assert errors == [], errors
        assert final.action in ("anchored", "idle", "confirmed"), final

        redemptions = [
            r
            for t in range(THREADS)
            for i in range(WITHDRAWALS_PER_THREAD)
            for r in services[0].redemptions.list_for_user(f"t{t}u{i}")
        ]
    assert len(redemptions) == THREADS * WITHDRAWALS_PER_THREAD
    assert all(r.status is RedemptionStatus.FULFILLED for r in redemptions), [
        (r.id, r.status, r.reason)
        for r in redemptions
        if r.status is not RedemptionStatus.FULFILLED
    ]
    assert all(r.mint_state is MintState.CONFIRMED for r in redemptions)
    with pg.connect() as conn:
        rows = list(conn.execute(select(anchors).order_by(anchors.c.tree_size)))
    assert len(rows) >= 3, rounds  # anchored about every second while the mints ran
    assert {r.status for r in rows} == {TxState.CONFIRMED.value}, [
        (r.tree_size, r.status) for r in rows
    ]
    assert runtime.token.anchor_count() == len(rows)
    assert runtime.token.total_supply() == len(redemptions) * 10 * AZR

    # One sequence: every nonce after the deployment used exactly once, none skipped.
    mint_nonces = [r.mint.nonce for r in redemptions if r.mint is not None]
    anchor_nonces = [int(r.nonce) for r in rows]
    used = sorted(mint_nonces + anchor_nonces)
    mined = runtime.sender.confirmed_nonce()
    assert used == list(range(deployed_nonces, mined)), (used, deployed_nonces, mined)
