"""``/v1/users/{user_id}/redemptions``: request, follow, cancel; admins fulfil or reject."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, status
from fastapi.responses import JSONResponse

from api import policy
from api.deps import Admin, IdempotencyKey, Reader, RewardsDep
from api.ids import REPLAYED_HEADER, RedemptionPath, UserPath, UuidCursor
from api.schemas.common import PROTECTED, problems
from api.schemas.rewards import RedemptionCreate, RedemptionPage, RedemptionPublic, RejectBody
from ledger import LedgerError
from monetization.rewards import Redemption, RedemptionStatus, Rewards
from monetization.rewards.fulfilment import FULFILLERS
from monetization.rewards.redemptions import PAGE_MAX

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/users/{user_id}/redemptions", tags=["redemptions"],
                   responses=PROTECTED)  # fmt: skip


def _process(rewards: Rewards, redemption_id: str) -> None:
    # After the response: withdrawals wait for the chain. A crash here is finished by
    # `azora rewards settle` (and the maintenance loop).
    rewards.redemptions.process(redemption_id)


def _settle(rewards: Rewards, r: Redemption, background: BackgroundTasks) -> Redemption:
    """Fulfil an automatic redemption still held: at once when it needs no chain
    (unlocks, course content), else after the answer (withdrawals). Returns the
    redemption as it is now, which the answer shows."""
    fulfiller = FULFILLERS[r.item_type]
    if not fulfiller.automatic or r.status is not RedemptionStatus.HELD or r.intent is not None:
        return r
    if not fulfiller.synchronous:
        background.add_task(_process, rewards, r.id)
        return r
    try:
        rewards.redemptions.process(r.id)
    except LedgerError as error:  # e.g. the ledger unavailable: held, settled later
        log.warning("redemption %s: not fulfilled at once: %s", r.id, error.detail)
    return rewards.redemptions.get(r.user_id, r.id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RedemptionPublic,
    responses=problems(404, 409),
)
def request_redemption(
    *,
    user_id: UserPath,
    body: RedemptionCreate,
    key: IdempotencyKey,
    rewards: RewardsDep,
    principal: Reader,
    background: BackgroundTasks,
) -> JSONResponse:
    """Redeem a catalog item: its price is held (a pending entry) until the redemption is
    fulfilled (posted) or cancelled, rejected, failed or expired (voided). 409
    `insufficient-funds` / `out-of-stock`; 422 `invalid-redemption` (merchandise needs a
    `shipping_address`, a withdrawal an `eth_address`). The answer shows the state when it
    is sent: unlocks and course content are fulfilled before it (`fulfilled`); a withdrawal
    is `held` and mints after it (then `minting`, `fulfilled` or `failed`); merchandise
    stays `held` until an admin fulfils or rejects it."""
    policy.require_user_act(principal, user_id)
    redemption, created = rewards.redemptions.request(
        user_id,
        body.item_id,
        key,
        shipping_address=body.address(),
        eth_address=body.eth_address,
    )
    redemption = _settle(rewards, redemption, background)
    headers = None if created else {REPLAYED_HEADER: "true"}
    payload = RedemptionPublic.build(redemption).model_dump(mode="json")
    return JSONResponse(payload, status.HTTP_201_CREATED, headers=headers)


@router.get("", responses=problems(404))
def list_redemptions(
    user_id: UserPath,
    rewards: RewardsDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    cursor: UuidCursor = None,
) -> RedemptionPage:
    """The user's redemptions, newest first, each in its current state (404 for a user the
    caller may not see, or a cursor that names no redemption of theirs)."""
    policy.require_user_read(principal, user_id)
    found = rewards.redemptions.list_for_user(user_id, before=cursor, limit=limit)
    more = len(found) == limit and bool(
        rewards.redemptions.list_for_user(user_id, before=found[-1].id, limit=1)
    )
    return RedemptionPage(
        data=[RedemptionPublic.build(r) for r in found],
        next_cursor=found[-1].id if more else None,
    )


@router.get("/{redemption_id}", responses=problems(404))
def get_redemption(
    user_id: UserPath, redemption_id: RedemptionPath, rewards: RewardsDep, principal: Reader
) -> RedemptionPublic:
    policy.require_user_read(principal, user_id)
    return RedemptionPublic.build(rewards.redemptions.get(user_id, redemption_id))


@router.post("/{redemption_id}/cancel", responses=problems(404, 409))
def cancel_redemption(
    user_id: UserPath, redemption_id: RedemptionPath, rewards: RewardsDep, principal: Reader
) -> RedemptionPublic:
    """Take it back while held: the tokens return. A repeat answers with the state."""
    policy.require_user_act(principal, user_id)
    return RedemptionPublic.build(rewards.redemptions.cancel(user_id, redemption_id))


@router.post("/{redemption_id}/fulfil", responses=problems(403, 404, 409))
def fulfil_redemption(
    user_id: UserPath, redemption_id: RedemptionPath, rewards: RewardsDep, _p: Admin
) -> RedemptionPublic:
    """Mark it done (admin; e.g. merchandise shipped): the hold is posted."""
    rewards.redemptions.get(user_id, redemption_id)
    return RedemptionPublic.build(rewards.redemptions.fulfil(redemption_id))


@router.post("/{redemption_id}/reject", responses=problems(403, 404, 409))
def reject_redemption(
    user_id: UserPath,
    redemption_id: RedemptionPath,
    body: RejectBody,
    rewards: RewardsDep,
    _p: Admin,
) -> RedemptionPublic:
    """Refuse it (admin) with a reason: the hold is voided, the tokens return."""
    rewards.redemptions.get(user_id, redemption_id)
    return RedemptionPublic.build(rewards.redemptions.reject(redemption_id, body.reason))
