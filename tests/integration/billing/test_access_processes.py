"""The feature cache of another process sees a plan change at once (PostgreSQL NOTIFY)."""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from ledger import Ledger
from ledger.store.engine import make_engine
from monetization.billing import Billing
from tests.integration.billing.conftest import START, Clock, make_billing, subscribe

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]
SEEN_WITHIN_S = 5.0  # a generous bound for a loaded machine; the figure is printed


def _reader(url: str, requests: Any, answers: Any) -> None:
    """Another API process: answers (cached?, plan, feature value) for a user on request."""
    engine = make_engine(url)
    with Ledger(engine) as book:
        billing = make_billing(engine, book, Clock(START))
        assert billing.access.listener is not None
        assert billing.access.listener.wait_listening(10)
        answers.put("ready")
        while (user := requests.get(timeout=60)) is not None:
            hit = billing.access.cache.get(user) is not None
            answers.put((hit, billing.plan_of(user).id, billing.feature(user, "sso")))
        billing.close()
    engine.dispose()


def _ask(requests: Any, answers: Any, user: str) -> tuple[bool, str, object]:
    requests.put(user)
    answer: tuple[bool, str, object] = answers.get(timeout=30)
    return answer


def _until_changed(requests: Any, answers: Any, user: str, plan: str) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < SEEN_WITHIN_S:
        if _ask(requests, answers, user)[1] == plan:
            return time.perf_counter() - started
    raise AssertionError(f"the other process still serves the old plan after {SEEN_WITHIN_S}s")


def test_a_plan_change_reaches_the_other_process_cache_at_once(
    db_url: str, engine: Engine, billing: Billing, clock: Clock
) -> None:
    ctx = mp.get_context("spawn")
    requests, answers = ctx.Queue(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(db_url, requests, answers))
    reader.start()
    try:
        assert answers.get(timeout=60) == "ready"
        assert _ask(requests, answers, "ada") == (False, "free", False)
        assert _ask(requests, answers, "ada") == (True, "free", False)  # from the cache now
        subscribe(billing, "ada", "enterprise")
        first = _until_changed(requests, answers, "ada", "enterprise")
        assert _ask(requests, answers, "ada") == (True, "enterprise", True)
        billing.cancel("ada")
        billing.run(START + timedelta(days=40))  # the period ends: back on free
        second = _until_changed(requests, answers, "ada", "free")
        assert _ask(requests, answers, "ada")[2] is False
        print(f"plan change seen by the other process after {first * 1e3:.1f} ms, "
              f"{second * 1e3:.1f} ms")  # fmt: skip
    finally:
        requests.put(None)
        reader.join(30)
    assert reader.exitcode == 0
