"""``POST /v1/payments/webhooks/stripe``: verified by signature, handled once per event id.

:class:`StripeSignatures` checks ``Stripe-Signature`` with ``stripe.Webhook.construct_event``
(HMAC-SHA256 over ``"{t}.{raw body}"``, constant-time, any ``v1`` may match) against each
configured secret in turn (several during a rotation), and refuses a timestamp more than
``tolerance_s`` away from now in either direction (the library checks only the past).
The bytes checked are the bytes received: a body parsed and serialized again fails.

:class:`WebhookInbox` hands a verified event to the handler of its type and records its
id in ``payments_webhook_events``; the same id again is acknowledged as a duplicate and
changes nothing. Handlers are idempotent on their own (their ledger keys derive from the
event), so two deliveries racing, or a crash before the id is recorded, still record once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import stripe
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ledger import WRITE_TXN
from monetization.payments.errors import WebhookSignatureInvalid
from monetization.payments.tables import payments_webhook_events

log = logging.getLogger(__name__)

TOLERANCE_S = 300
EVENT_ID_MAX_CHARS = 255
EVENT_TYPE_MAX_CHARS = 100
Event = Mapping[str, Any]
Handler = Callable[[Event], str]  # returns the outcome recorded ("handled", "ignored", …)


def _timestamp(header: str) -> int | None:
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            return int(value)
    return None


class StripeSignatures:
    def __init__(
        self,
        secrets: Sequence[str],
        *,
        tolerance_s: int = TOLERANCE_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = [s.strip() for s in secrets if s.strip()]
        self._tolerance_s = tolerance_s
        self._now = wall_clock

    def verify(self, payload: bytes, header: str | None) -> dict[str, Any]:
        """The event of an authentic, fresh delivery; :class:`WebhookSignatureInvalid`."""
        if not self._secrets:
            raise WebhookSignatureInvalid("no webhook secret is configured")
        if not header or len(header) > 4096 or not header.isascii():
            raise WebhookSignatureInvalid("the Stripe-Signature header is missing")
        stamp = _timestamp(header)
        if stamp is None or abs(self._now() - stamp) > self._tolerance_s:
            raise WebhookSignatureInvalid("the signature's timestamp is missing or not recent")
        for secret in self._secrets:
            try:
                stripe.Webhook.construct_event(payload, header, secret, self._tolerance_s)
            except stripe.SignatureVerificationError:
                continue
            except (ValueError, TypeError, AttributeError):  # not a JSON object, not UTF-8
                raise WebhookSignatureInvalid("the body is not a JSON event") from None
            return _event(payload)
        raise WebhookSignatureInvalid("no signature matches this body with a configured secret")


def _event(payload: bytes) -> dict[str, Any]:
    event = json.loads(payload)
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not 0 < len(event["id"]) <= EVENT_ID_MAX_CHARS
        or not isinstance(event.get("type"), str)
        or len(event["type"]) > EVENT_TYPE_MAX_CHARS
    ):
        raise WebhookSignatureInvalid("the body is not a Stripe event (id, type)")
    return event


class WebhookInbox:
    def __init__(
        self,
        engine: Engine,
        signatures: StripeSignatures,
        handlers: Mapping[str, Handler],
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._signatures = signatures
        self.handlers = dict(handlers)
        self._clock = clock

    def receive(self, payload: bytes, header: str | None) -> bool:
        """Verify and handle one delivery; True if its event was handled before."""
        event = self._signatures.verify(payload, header)
        event_id, event_type = event["id"], event["type"]
        if self._seen(event_id):
            return True
        handler = self.handlers.get(event_type)
        outcome = handler(event) if handler is not None else "ignored"
        try:
            with self._engine.connect().execution_options(**WRITE_TXN) as conn, conn.begin():
                conn.execute(
                    insert(payments_webhook_events).values(
                        event_id=event_id, provider="stripe", type=event_type,
                        outcome=outcome[:32], received_at=self._clock(),
                    )
                )  # fmt: skip
        except IntegrityError:
            return True  # a concurrent delivery of the same event recorded it first
        log.info("stripe event %s (%s): %s", event_id, event_type, outcome)
        return False

    def _seen(self, event_id: str) -> bool:
        table = payments_webhook_events
        with self._engine.connect() as conn:
            found = conn.execute(select(table.c.event_id).where(table.c.event_id == event_id))
            return found.first() is not None
