"""The database enforces the redemption state table (migration 0060), on both back ends:
a status change outside TRANSITIONS and an intent its status may not carry are refused,
whoever writes them."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from monetization.rewards.states import INTENT_VALUES, INTENTS, TRANSITIONS, RedemptionStatus
from monetization.rewards.tables import reward_redemptions

S = RedemptionStatus
NOW = datetime(2030, 6, 12, 12, 0, tzinfo=UTC)
MOVES = {(a, b) for a, b, _why in TRANSITIONS}


def _an_intent(status: RedemptionStatus) -> str | None:
    """One intent a row in ``status`` may carry (the first, in a fixed order)."""
    for intent in (None, *INTENT_VALUES):
        if intent in INTENTS[status]:
            return None if intent is None else intent.value
    raise AssertionError(status)


def _insert(engine: Engine, status: str, intent: str | None) -> str:
    row_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            reward_redemptions.insert().values(
                id=row_id,
                user_id="u1",
                item_id="tee",
                item_type="merchandise",
                price=10**18,
                status=status,
                intent=intent,
                request_key=row_id,
                hold_key=f"redemption:{row_id}",
                created_at=NOW,
                updated_at=NOW,
                expires_at=NOW + timedelta(days=1),
            )
        )
    return row_id


def _set(engine: Engine, row_id: str, **values: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            reward_redemptions.update().where(reward_redemptions.c.id == row_id).values(**values)
        )


def test_only_the_table_s_transitions_are_accepted(engine: Engine) -> None:
    refused, accepted = [], []
    for source, target in itertools.permutations(S, 2):
        row_id = _insert(engine, source.value, _an_intent(source))
        try:
            _set(engine, row_id, status=target.value, intent=_an_intent(target))
        except IntegrityError:
            refused.append((source, target))
        else:
            accepted.append((source, target))
    assert set(accepted) == MOVES
    assert len(refused) == len(S) * (len(S) - 1) - len(MOVES)


def test_a_row_carries_only_an_intent_its_status_allows(engine: Engine) -> None:
    candidates: list[str | None] = [None, *(i.value for i in INTENT_VALUES), "expired", "x"]
    for status in S:
        allowed = {None if i is None else i.value for i in INTENTS[status]}
        for intent in candidates:
            if intent in allowed:
                row_id = _insert(engine, status.value, intent)
                _set(engine, row_id, reason="still allowed")
            else:
                with pytest.raises(IntegrityError):
                    _insert(engine, status.value, intent)
    held = _insert(engine, S.HELD.value, None)
    with pytest.raises(IntegrityError):
        _set(engine, held, intent=S.FAILED.value)  # held rows are never failing
    _set(engine, held, intent=S.CANCELLED.value)


def test_an_unknown_status_is_refused(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        _insert(engine, "lost", None)
