"""The change stream's push side (DESIGN §15): webhook endpoints with kind filters, and
deliveries of journal events signed like Stripe's, at least once, in seq order per
endpoint, retried with backoff for 24 h, with a delivery log and admin replays.

Build it with :func:`build_webhooks` (the composition root's one call); the delivery worker
is :meth:`Webhooks.deliver` (one bounded round), run by the job in ``azora/jobs.py``.
Events reach this package only through the ledger's public read API (``Ledger.events``,
``Ledger.entries_by_ids``, ``Ledger.head_seq``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Engine

from ledger import Ledger
from monetization.sealing import Sealer
from monetization.webhooks.endpoints import Endpoints, check_kinds
from monetization.webhooks.errors import WebhookLimitReached, WebhookNotFound, WebhookUrlRefused
from monetization.webhooks.events import (
    ENTRY_TYPE_OF_EVENT,
    EVENT_TYPES,
    entry_types,
    event_bytes,
    event_json,
)
from monetization.webhooks.log import DeliveryLog
from monetization.webhooks.model import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    RoundReport,
    WebhooksConfig,
    backoff_s,
)
from monetization.webhooks.sender import HttpSender, Sender, Sent
from monetization.webhooks.signing import (
    SIGNATURE_HEADER,
    SignatureMismatch,
    new_secret,
    signature_header,
    verify,
)
from monetization.webhooks.targets import (
    Resolver,
    StaticResolver,
    SystemResolver,
    Target,
    TargetPolicy,
    is_public,
    resolve,
)
from monetization.webhooks.worker import Deliverer


class Webhooks:
    """Endpoints, their delivery log and the delivery worker, over one database."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        config: WebhooksConfig,
        *,
        clock: Callable[[], datetime],
        resolver: Callable[[], Resolver],
        sender: Callable[[], Sender],
        sealer: Callable[[], Sealer],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.close = close
        self.endpoints = Endpoints(engine, ledger, config, resolver, clock, sealer=sealer)
        self.log = DeliveryLog(engine, self.endpoints, config, clock)
        self.deliverer = Deliverer(
            engine, ledger, self.endpoints, config, sender=sender, resolver=resolver, clock=clock
        )

    def deliver(self, max_endpoints: int = 100) -> RoundReport:
        """One round of the delivery worker (safe to run in many processes at once)."""
        return self.deliverer.run_once(max_endpoints)


def build_webhooks(
    engine: Engine,
    ledger: Ledger,
    config: WebhooksConfig,
    clock: Callable[[], datetime],
    *,
    secrets: Callable[[], Sequence[str]],
    resolver: Resolver | None = None,
    sender: Sender | None = None,
) -> Webhooks:
    """Everything webhooks need from what the composition root owns; the HTTP client is
    made on the first delivery, the sealing keys (``secrets``, the first seals) are asked
    for on first use."""
    the_resolver: Resolver = resolver or SystemResolver()
    made: list[HttpSender] = []

    def get_sender() -> Sender:
        if sender is not None:
            return sender
        if not made:
            made.append(HttpSender(config.timeout_s))
        return made[0]

    def close() -> None:
        while made:
            made.pop().close()

    return Webhooks(
        engine, ledger, config, clock=clock, resolver=lambda: the_resolver, sender=get_sender,
        sealer=cache(lambda: Sealer(secrets())), close=close,
    )  # fmt: skip


__all__ = [
    "ENTRY_TYPE_OF_EVENT",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "Attempt",
    "Delivery",
    "DeliveryLog",
    "DeliveryStatus",
    "Endpoint",
    "Endpoints",
    "HttpSender",
    "Resolver",
    "RoundReport",
    "Sender",
    "Sent",
    "SignatureMismatch",
    "StaticResolver",
    "SystemResolver",
    "Target",
    "TargetPolicy",
    "WebhookLimitReached",
    "WebhookNotFound",
    "WebhookUrlRefused",
    "Webhooks",
    "WebhooksConfig",
    "backoff_s",
    "build_webhooks",
    "check_kinds",
    "entry_types",
    "event_bytes",
    "event_json",
    "is_public",
    "new_secret",
    "resolve",
    "signature_header",
    "verify",
]
