"""Expected failures of webhooks, under the ledger's one root; ``code`` is the problem type
(mapped in ``api/errors.py``)."""

from __future__ import annotations

from ledger import Conflict, InvalidRequest, NotFound


class WebhookNotFound(NotFound):
    code = "not-found"


class WebhookUrlRefused(InvalidRequest):
    """The URL is malformed, not https in production, or reaches a non-public address."""

    code = "webhook-url-refused"


class WebhookLimitReached(Conflict):
    code = "webhook-limit-reached"
