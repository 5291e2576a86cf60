"""``/v1/rewards``: earning events, rules, catalog, spends, gifts, corrections, wallets."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from api import policy
from api.deps import Admin, IdempotencyKey, Reader, RewardsDep, Writer
from api.ids import REPLAYED_HEADER, EventTypePath, Limit, SeqCursor, UserPath, seq_cursor
from api.schemas.common import PROTECTED, problems
from api.schemas.rewards import (
    AdjustmentCreate,
    CatalogPage,
    EarningPublic,
    EntitlementPublic,
    EventCreate,
    GiftCreate,
    ItemCreate,
    ItemPublic,
    MovementPublic,
    RewardHistoryItem,
    RewardHistoryPage,
    RuleList,
    RulePublic,
    RulePut,
    SpendCreate,
    WalletPublic,
    azr,
)
from ledger import AZR, Posted, parse_amount


def movement(posted: Posted) -> JSONResponse:
    entry = posted.entry
    body = MovementPublic(
        entry_id=entry.id,
        seq=entry.seq,
        kind=entry.kind,
        amount=azr(sum(p.amount for p in entry.postings)),
        reverses_id=entry.reverses_id,
        replayed=posted.replayed,
    )
    headers = {REPLAYED_HEADER: "true"} if posted.replayed else None
    return JSONResponse(body.model_dump(mode="json"), status.HTTP_201_CREATED, headers=headers)


router = APIRouter(prefix="/v1", tags=["rewards"], responses=PROTECTED)


@router.post(
    "/rewards/events",
    status_code=status.HTTP_201_CREATED,
    response_model=EarningPublic,
    responses=problems(
        403, codes=("cap-reached", "unknown-event-type", "idempotency-conflict", "invalid-request")
    ),
)
def post_event(body: EventCreate, rewards: RewardsDep, principal: Writer) -> JSONResponse:
    """Pay a user the earning rule of a platform event. `event_id` is the idempotency key
    (per calling key): a retry answers with the original earning. 422 `cap-reached` when
    the user hit the rule's daily cap (UTC day: the event earns nothing), 422
    `unknown-event-type` when no active rule has this type."""
    earning = rewards.earnings.earn(
        body.event_id, body.user_id, body.type, body.metadata, principal=principal.name
    )
    headers = {REPLAYED_HEADER: "true"} if earning.replayed else None
    payload = EarningPublic.build(earning).model_dump(mode="json")
    return JSONResponse(payload, status.HTTP_201_CREATED, headers=headers)


@router.get("/rewards/rules")
def list_rules(rewards: RewardsDep, _p: Reader) -> RuleList:
    """Earning rules: event type, AZR per event, daily cap per user."""
    return RuleList(data=[RulePublic.build(r) for r in rewards.earnings.rules()])


@router.put("/rewards/rules/{event_type}", responses=problems(403))
def put_rule(
    event_type: EventTypePath,
    body: RulePut,
    rewards: RewardsDep,
    _p: Admin,
) -> RulePublic:
    """Create or change a rule (admin). Takes effect for the next event."""
    return RulePublic.build(rewards.earnings.put_rule(body.to_rule(event_type)))


@router.get("/rewards/catalog")
def get_catalog(rewards: RewardsDep, _p: Reader) -> CatalogPage:
    """Redeemable items with their AZR price and stock (null: unlimited)."""
    return CatalogPage(data=[ItemPublic.build(i) for i in rewards.redemptions.catalog()])


@router.post(
    "/rewards/catalog",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 409) | {200: {"model": ItemPublic, "description": "It existed"}},
)
def post_catalog(
    body: ItemCreate, rewards: RewardsDep, _p: Admin, response: Response
) -> ItemPublic:
    """Add an item (admin). The same item again answers 200; another with its id is 409."""
    item, created = rewards.redemptions.put_item(body.to_item())
    if not created:
        response.status_code = status.HTTP_200_OK
    return ItemPublic.build(item)


@router.post(
    "/rewards/spends",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementPublic,
    responses=problems(403, codes=("insufficient-funds", "idempotency-conflict", "invalid-amount")),
)
def post_spend(
    body: SpendCreate, key: IdempotencyKey, rewards: RewardsDep, principal: Writer
) -> JSONResponse:
    """A user pays for a platform item (`reward.spent`)."""
    posted = rewards.earnings.spend(
        body.user_id,
        parse_amount(body.amount, AZR),
        key=key,
        principal=principal.name,
        metadata=body.metadata,
    )
    return movement(posted)


@router.post(
    "/rewards/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementPublic,
    responses=problems(403, 404, 409),
)
def post_adjustment(
    body: AdjustmentCreate, key: IdempotencyKey, rewards: RewardsDep, principal: Admin
) -> JSONResponse:
    """Correct a rewards entry (admin): its reversal, referencing it (`reward.adjusted.*`)."""
    posted = rewards.earnings.adjust(
        body.entry_id, reason=body.reason, key=key, principal=principal.name
    )
    return movement(posted)


@router.post(
    "/users/{user_id}/gifts",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementPublic,
    responses=problems(404, 409),
)
def post_gift(
    user_id: UserPath,
    body: GiftCreate,
    key: IdempotencyKey,
    rewards: RewardsDep,
    principal: Reader,
) -> JSONResponse:
    """Give AZR to another user (`reward.transferred`), if gifts are on, within the daily
    limit (409 `transfers-disabled` / `transfer-limit-reached`)."""
    policy.require_user_act(principal, user_id)
    posted = rewards.earnings.gift(
        user_id,
        body.to_user_id,
        parse_amount(body.amount, AZR),
        key=key,
        principal=principal.name,
        message=body.message,
    )
    return movement(posted)


@router.get("/users/{user_id}/rewards", responses=problems(404))
def get_wallet(user_id: UserPath, rewards: RewardsDep, principal: Reader) -> WalletPublic:
    """The user's AZR balance, available amount and active entitlements."""
    policy.require_user_read(principal, user_id)
    balance, available = rewards.earnings.balance(user_id)
    return WalletPublic(
        user_id=user_id,
        balance=azr(balance),
        available=azr(available),
        entitlements=[
            EntitlementPublic.build(e) for e in rewards.redemptions.entitlements(user_id)
        ],
    )


@router.get("/users/{user_id}/rewards/history", responses=problems(404))
def get_history(
    user_id: UserPath,
    rewards: RewardsDep,
    principal: Reader,
    limit: Limit = 100,
    cursor: SeqCursor = None,
) -> RewardHistoryPage:
    """The user's AZR history, newest first: each line with its kind, signed amount,
    running balance and metadata (an earning shows its event, rule and event metadata)."""
    policy.require_user_read(principal, user_id)
    lines = rewards.earnings.history(user_id, before_seq=seq_cursor(cursor), limit=limit)
    more = len(lines) == limit and bool(
        rewards.earnings.history(user_id, before_seq=lines[-1].seq, limit=1)
    )
    return RewardHistoryPage(
        data=[RewardHistoryItem.build(h) for h in lines],
        next_cursor=str(lines[-1].seq) if more else None,
    )
