"""Expected failures of the billing domain, under the ledger's one root.

Each ``code`` is the last segment of the HTTP problem ``type``; ``api/errors.py`` maps it.
"""

from __future__ import annotations

from ledger.errors import Conflict, IdempotencyConflict, InvalidRequest, NotFound


class UnknownPlan(InvalidRequest):
    code = "unknown-plan"


class UnknownFeature(NotFound):
    code = "not-found"


class SubscriptionStateConflict(Conflict):
    """The change is not allowed in the subscription's state (e.g. resume with nothing
    scheduled, subscribe to the plan one is on)."""

    code = "subscription-state-conflict"


class SubscriptionBusy(Conflict):
    """Another paid change of this subscription is in progress: retry shortly."""

    code = "subscription-busy"


class BillingIdempotencyConflict(IdempotencyConflict):
    """The Idempotency-Key was used for another subscription request."""
