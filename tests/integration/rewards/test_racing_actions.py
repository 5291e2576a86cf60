"""Actions racing on one redemption (PostgreSQL, threads): exactly one wins; every other
is refused with a conflict that names the state that won, in the domain and over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from ledger import Ledger
from ledger.store.engine import make_engine
from monetization.rewards import CatalogItem, ItemType, Redemption, RedemptionStatus, Rewards
from monetization.rewards.errors import RedemptionStateConflict
from tests.integration.api.conftest import ADMIN, bearer, make_client
from tests.integration.rewards.conftest import AZR, FakeClock, fund

pytestmark = pytest.mark.integration

ADDRESS = {"name": "Ada", "line1": "1 St", "city": "Lagos", "postal_code": "1", "country": "NG"}
ROUNDS = 16


@pytest.fixture
def pg_rewards(pg_url: str) -> Iterator[Rewards]:
    engine = make_engine(pg_url)
    clock = FakeClock()
    with Ledger(engine, clock=clock) as book:
        rewards = Rewards(book, clock=clock)
        rewards.redemptions.put_item(CatalogItem("tee", "T-shirt", ItemType.MERCHANDISE, AZR))
        yield rewards
    engine.dispose()


Outcome = tuple[str, Redemption | RedemptionStateConflict]


def _race(actions: dict[str, Callable[[], Redemption]]) -> dict[str, Any]:
    """Run ``actions`` at once (a barrier lines them up); each name -> its result or its
    conflict."""
    start = threading.Barrier(len(actions))

    def run(name: str) -> Outcome:
        start.wait()
        try:
            return name, actions[name]()
        except RedemptionStateConflict as conflict:
            return name, conflict

    with ThreadPoolExecutor(len(actions)) as pool:
        return dict(pool.map(run, list(actions)))


def _check_one_winner(outcomes: dict[str, Any], final: Redemption) -> str:
    winners = [name for name, got in outcomes.items() if isinstance(got, Redemption)]
    assert len(winners) == 1, f"{winners} all answered with a redemption ({final.status})"
    (winner,) = winners
    assert outcomes[winner].status is final.status
    for name, got in outcomes.items():
        if name != winner:
            assert isinstance(got, RedemptionStateConflict)
            assert got.problem_fields["redemption_id"] == final.id
            # The winner's state, or (it still under way) the status with its intent.
            fields = got.problem_fields
            assert fields.get("redemption_intent", fields["redemption_status"]) == final.status
    return winner


def test_cancel_and_fulfil_racing_have_one_winner(pg_rewards: Rewards) -> None:
    rewards = pg_rewards
    fund(rewards, "ada", 4)  # 20 AZR: more than the ROUNDS items of 1 AZR
    wins: dict[str, int] = {"cancel": 0, "fulfil": 0}
    for n in range(ROUNDS):
        held, _ = rewards.redemptions.request("ada", "tee", f"k{n}", shipping_address=ADDRESS)
        outcomes = _race(
            {
                "cancel": partial(rewards.redemptions.cancel, "ada", held.id),
                "fulfil": partial(rewards.redemptions.fulfil, held.id),
            }
        )
        final = rewards.redemptions.get("ada", held.id)
        wins[_check_one_winner(outcomes, final)] += 1
        assert final.status in (RedemptionStatus.CANCELLED, RedemptionStatus.FULFILLED)
    fulfilled = rewards.redemptions.list_for_user("ada")
    spent = sum(1 for r in fulfilled if r.status is RedemptionStatus.FULFILLED)
    assert spent == wins["fulfil"]
    balance, available = rewards.earnings.balance("ada")
    assert balance == available == 20 * AZR - spent * AZR


def test_reject_and_cancel_and_fulfil_racing_have_one_winner(pg_rewards: Rewards) -> None:
    rewards = pg_rewards
    fund(rewards, "bea", 1)
    for n in range(4):
        held, _ = rewards.redemptions.request("bea", "tee", f"k{n}", shipping_address=ADDRESS)
        outcomes = _race(
            {
                "cancel": partial(rewards.redemptions.cancel, "bea", held.id),
                "reject": partial(rewards.redemptions.reject, held.id, "cannot ship"),
                "fulfil": partial(rewards.redemptions.fulfil, held.id),
            }
        )
        _check_one_winner(outcomes, rewards.redemptions.get("bea", held.id))


def test_the_losing_action_gets_409_with_the_winning_state_over_http(pg_url: str) -> None:
    with make_client(pg_url) as client:
        item = {"id": "mug", "name": "Mug", "type": "merchandise", "price": "1"}
        assert client.post("/v1/rewards/catalog", json=item, headers=ADMIN).status_code == 201
        for n in range(4):  # 20 AZR
            event = {"event_id": f"cy-{n}", "user_id": "cy", "type": "lesson.completed"}
            assert client.post("/v1/rewards/events", json=event, headers=ADMIN).status_code == 201
        token = client.post("/v1/admin/tokens", json={"user_id": "cy"}, headers=ADMIN)
        user = bearer(token.json()["token"])
        for n in range(ROUNDS):
            asked = client.post(
                "/v1/users/cy/redemptions",
                json={"item_id": "mug", "shipping_address": ADDRESS},
                headers={**user, "Idempotency-Key": f"cy-{n}"},
            )
            assert asked.status_code == 201, asked.text
            path = f"/v1/users/cy/redemptions/{asked.json()['id']}"
            start = threading.Barrier(2)

            def call(
                action: str, headers: dict[str, str], path: str = path, start: Any = start
            ) -> Any:
                start.wait()
                return client.post(f"{path}/{action}", json={}, headers=headers)

            with ThreadPoolExecutor(2) as pool:
                cancel = pool.submit(call, "cancel", user)
                fulfil = pool.submit(call, "fulfil", ADMIN)
                answers = [cancel.result(), fulfil.result()]
            final = client.get(path, headers=user).json()["status"]
            codes = sorted(a.status_code for a in answers)
            assert codes == [200, 409], [a.text for a in answers]
            won = next(a for a in answers if a.status_code == 200)
            lost = next(a for a in answers if a.status_code == 409)
            assert won.json()["status"] == final
            assert lost.headers["content-type"].startswith("application/problem+json")
            problem = lost.json()
            assert problem["type"].endswith("/redemption-state-conflict")
            assert problem.get("redemption_intent", problem["redemption_status"]) == final
            assert problem["redemption_id"] == asked.json()["id"]
