"""Property: any sequence of requests within one period, through the real service and
ledger, neither creates nor loses a cent and never charges more than the dearest plan."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, LedgerError
from monetization.billing import Billing
from monetization.billing.changes import ChangeResult
from tests.integration.billing.conftest import START, Clock

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
_users = itertools.count()

steps = st.lists(
    st.tuples(
        st.sampled_from(["free", "pro", "enterprise", "cancel", "resume"]),
        st.sampled_from(["pm_card_visa", "pm_card_visa", "pm_card_chargeDeclined"]),
        st.integers(0, 27 * 86_400),  # seconds into the period
    ),
    min_size=1,
    max_size=8,
)


def _balance(book: Ledger, account: str) -> int:
    try:
        return book.balance(account).balance
    except LedgerError:
        return 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_requests_within_a_period_conserve_money(
    billing: Billing, ledger_: Ledger, clock: Clock, steps: list[tuple[str, str, int]]
) -> None:
    user = f"p{next(_users)}"
    revenue_before = _balance(ledger_, "platform:revenue:subscriptions")
    card_before = _balance(ledger_, "world:card")
    answered = 0
    for n, (action, method, offset_s) in enumerate(sorted(steps, key=lambda s: s[2])):
        clock.set(START + timedelta(seconds=offset_s))
        try:
            if action == "cancel":
                billing.cancel(user)
            elif action == "resume":
                billing.resume(user)
            else:
                result = billing.subscribe(user, action, method, principal="t", key=f"{user}-{n}")
                assert isinstance(result, ChangeResult)
                answered += result.amount or 0
        except LedgerError:
            continue
    revenue = _balance(ledger_, "platform:revenue:subscriptions") - revenue_before
    card = _balance(ledger_, "world:card") - card_before
    assert revenue == answered == -card  # every cent charged is recorded once, both sides
    assert 0 <= answered <= billing.catalog.most_expensive().price
