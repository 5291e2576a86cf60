"""``POST /v1/payments/webhooks/stripe``: public, authenticated by its signature only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.routers.billing import BillingDep
from api.schemas.common import problems
from api.schemas.payments import WebhookReceived

router = APIRouter(prefix="/v1/payments", tags=["payments"])


@router.post("/webhooks/stripe", responses=problems(400, 413, 422))
async def stripe_webhook(
    request: Request,
    billing: BillingDep,
    signature: Annotated[str | None, Header(alias="Stripe-Signature", max_length=4096)] = None,
) -> WebhookReceived:
    """A Stripe event. `Stripe-Signature: t=…,v1=…` must be an HMAC-SHA256 of
    `"{t}.{raw body}"` with a configured secret (`AZORA_STRIPE_WEBHOOK_SECRET`, several
    comma-separated), `t` within 300 s of now; otherwise 400 `webhook-signature-invalid`
    and nothing recorded. Each event id is handled once: a repeat answers
    `"duplicate": true`."""
    payload = await request.body()
    duplicate = await run_in_threadpool(billing.webhooks.receive, payload, signature)
    return WebhookReceived(received=True, duplicate=duplicate)
