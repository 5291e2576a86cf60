"""``/v1/webhooks``: endpoints that receive the change stream, and their delivery log.

Deliveries are POSTs of one event (the shape of ``GET /v1/events``) signed with
``Azora-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">`` under the endpoint's
secret; see the README's "Change stream and webhooks" for verifying them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import policy
from api.deps import Admin, Context, EventsReader
from api.ids import DeliveryPath, Limit, SeqCursor, UuidCursor, WebhookPath, seq_cursor
from api.schemas.common import PROTECTED, problems
from api.schemas.webhooks import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookPublic,
)
from monetization.webhooks import DeliveryStatus, Webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=PROTECTED)

StatusQuery = Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status.")]


def _service(context: Context) -> Webhooks:
    if context.webhooks is None:
        raise policy.hidden()
    return context.webhooks


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(403, 409))
def create_webhook(
    body: WebhookCreate, context: Context, principal: EventsReader
) -> WebhookCreated:
    """Register an endpoint for the events of `kinds` recorded from now on. The response
    holds the signing secret: it is shown only once. In production the URL must be https
    and resolve to public addresses only (422 `webhook-url-refused`)."""
    policy.webhook_owner(principal)
    endpoint, secret = _service(context).endpoints.create(
        principal.name, body.url, body.kinds, body.description
    )
    return WebhookCreated(**WebhookPublic.build(endpoint).model_dump(), secret=secret)


@router.get("", responses=problems(403))
def list_webhooks(
    context: Context, principal: EventsReader, limit: Limit = 100, cursor: UuidCursor = None
) -> WebhookPage:
    """The endpoints this key registered (an admin key: every one), oldest first."""
    found, next_cursor = _service(context).endpoints.list(
        policy.webhook_owner(principal), limit, cursor
    )
    return WebhookPage(data=[WebhookPublic.build(e) for e in found], next_cursor=next_cursor)


@router.get("/{webhook_id}", responses=problems(403, 404))
def get_webhook(
    webhook_id: WebhookPath, context: Context, principal: EventsReader
) -> WebhookPublic:
    endpoint = _service(context).endpoints.get(webhook_id, policy.webhook_owner(principal))
    return WebhookPublic.build(endpoint)


@router.delete(
    "/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(403, 404)
)
def delete_webhook(webhook_id: WebhookPath, context: Context, principal: EventsReader) -> Response:
    """Stop deliveries to the endpoint (its delivery log is kept, for admins)."""
    _service(context).endpoints.delete(webhook_id, policy.webhook_owner(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", responses=problems(403, 404))
def list_deliveries(
    webhook_id: WebhookPath,
    *,
    context: Context,
    principal: EventsReader,
    status_filter: Annotated[StatusQuery, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: SeqCursor = None,
) -> DeliveryPage:
    """The delivery log, newest event first: each delivery's status, attempts and last
    outcome."""
    found, next_cursor = _service(context).log.list(
        webhook_id,
        policy.webhook_owner(principal),
        status=status_filter,
        limit=limit,
        before_seq=seq_cursor(cursor),
    )
    return DeliveryPage(data=[DeliveryPublic.build(d) for d in found], next_cursor=next_cursor)


@router.get("/{webhook_id}/deliveries/{delivery_id}", responses=problems(403, 404))
def get_delivery(
    webhook_id: WebhookPath, delivery_id: DeliveryPath, context: Context, principal: EventsReader
) -> DeliveryDetail:
    """One delivery with the log of its attempts (HTTP status or error, duration)."""
    found = _service(context).log.get(webhook_id, delivery_id, policy.webhook_owner(principal))
    return DeliveryDetail.build(found)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(403, 404),
)
def replay_delivery(
    webhook_id: WebhookPath, delivery_id: DeliveryPath, context: Context, _p: Admin
) -> DeliveryDetail:
    """Send one delivery again (admin): it is pending at once, with a fresh 24 h window, and
    goes out before the endpoint's newer events."""
    return DeliveryDetail.build(_service(context).log.replay(webhook_id, delivery_id))
