"""``/v1/rewards``: earning events, rules, catalog, spends, gifts, corrections, wallets.

``router`` also carries the leaderboard, redemption and class/friend routes, so the app
includes the whole rewards surface with one line.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from api.deps import Admin, IdempotencyKey, LedgerDep, Reader, Writer, ensure_user_visible
from api.errors import ApiProblem
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
from api.security import Principal
from ledger import AZR, Ledger, Posted, parse_amount
from monetization.rewards import Rewards
from monetization.rewards.earning import HISTORY_MAX_LIMIT

REPLAYED_HEADER = "Idempotent-Replayed"
CURSOR_MAX_CHARS = 20
_service_lock = threading.Lock()


def get_rewards(request: Request, book: LedgerDep) -> Rewards:
    """One :class:`Rewards` per app, over the app's ledger (built on first use)."""
    service: Rewards | None = getattr(request.app.state, "rewards", None)
    if service is None:
        with _service_lock:
            service = getattr(request.app.state, "rewards", None)
            if service is None:
                service = _build(book, getattr(request.app.state, "chain", None))
                request.app.state.rewards = service
    return service


def _build(book: Ledger, chain: Any) -> Rewards:
    """``chain``: the process's ChainRuntime (None: no chain, withdrawals fail cleanly)."""
    return Rewards(book, minter=None if chain is None else lambda: chain.minter)


RewardsDep = Annotated[Rewards, Depends(get_rewards)]
UserPath = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


def ensure_user_readable(principal: Principal, user_id: str) -> None:
    """Reads of a user's rewards: the user themself, or a key with a read scope."""
    if principal.is_user and principal.id != user_id:
        raise ApiProblem("not-found", "no such resource")


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isascii() or not cursor.isdigit():
        raise ApiProblem("invalid-request", "cursor must be a next_cursor from a previous page")
    return int(cursor)


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


events = APIRouter(prefix="/v1", tags=["rewards"], responses=PROTECTED)


@events.post(
    "/rewards/events",
    status_code=status.HTTP_201_CREATED,
    response_model=EarningPublic,
    responses=problems(403, 409),
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


@events.get("/rewards/rules")
def list_rules(rewards: RewardsDep, _p: Reader) -> RuleList:
    """Earning rules: event type, AZR per event, daily cap per user."""
    return RuleList(data=[RulePublic.build(r) for r in rewards.earnings.rules()])


@events.put("/rewards/rules/{event_type}", responses=problems(403))
def put_rule(
    event_type: Annotated[str, Path(max_length=48, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")],
    body: RulePut,
    rewards: RewardsDep,
    _p: Admin,
) -> RulePublic:
    """Create or change a rule (admin). Takes effect for the next event."""
    return RulePublic.build(rewards.earnings.put_rule(body.to_rule(event_type)))


@events.get("/rewards/catalog")
def get_catalog(rewards: RewardsDep, _p: Reader) -> CatalogPage:
    """Redeemable items with their AZR price and stock (null: unlimited)."""
    return CatalogPage(data=[ItemPublic.build(i) for i in rewards.redemptions.catalog()])


@events.post(
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


@events.post(
    "/rewards/spends",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementPublic,
    responses=problems(403, 409),
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


@events.post(
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


@events.post(
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
    ensure_user_visible(principal, user_id)
    posted = rewards.earnings.gift(
        user_id,
        body.to_user_id,
        parse_amount(body.amount, AZR),
        key=key,
        principal=principal.name,
        message=body.message,
    )
    return movement(posted)


@events.get("/users/{user_id}/rewards", responses=problems(404))
def get_wallet(user_id: UserPath, rewards: RewardsDep, principal: Reader) -> WalletPublic:
    """The user's AZR balance, available amount and active entitlements."""
    ensure_user_readable(principal, user_id)
    balance, available = rewards.earnings.balance(user_id)
    return WalletPublic(
        user_id=user_id,
        balance=azr(balance),
        available=azr(available),
        entitlements=[
            EntitlementPublic.build(e) for e in rewards.redemptions.entitlements(user_id)
        ],
    )


@events.get("/users/{user_id}/rewards/history", responses=problems(404))
def get_history(
    user_id: UserPath,
    rewards: RewardsDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(max_length=CURSOR_MAX_CHARS)] = None,
) -> RewardHistoryPage:
    """The user's AZR history, newest first: each line with its kind, signed amount,
    running balance and metadata (an earning shows its event, rule and event metadata)."""
    ensure_user_readable(principal, user_id)
    lines = rewards.earnings.history(user_id, before_seq=parse_cursor(cursor), limit=limit)
    more = len(lines) == limit and bool(
        rewards.earnings.history(user_id, before_seq=lines[-1].seq, limit=1)
    )
    return RewardHistoryPage(
        data=[RewardHistoryItem.build(h) for h in lines],
        next_cursor=str(lines[-1].seq) if more else None,
    )


def _all_routes() -> APIRouter:
    from api.routers import leaderboards, redemptions, social

    combined = APIRouter()
    for part in (events, leaderboards.router, redemptions.router, social.router):
        combined.include_router(part)
    return combined


router = _all_routes()
