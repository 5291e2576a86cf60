"""Expected failures of the rewards domain, under the ledger's one root.

Each ``code`` is the last segment of the HTTP problem ``type``; ``api/errors.py`` maps it.
"""

from __future__ import annotations

from ledger.errors import Conflict, InvalidRequest, NotFound


class CapReached(InvalidRequest):
    """The event would take the user past the rule's daily cap: it earns nothing."""

    code = "cap-reached"


class UnknownEventType(InvalidRequest):
    """No active earning rule has this event type."""

    code = "unknown-event-type"


class InvalidRedemption(InvalidRequest):
    """The redemption request is malformed for its item (no shipping address, ...)."""

    code = "invalid-redemption"


class UnknownItem(InvalidRequest):
    code = "unknown-item"


class OutOfStock(Conflict):
    code = "out-of-stock"


class RedemptionStateConflict(Conflict):
    """The redemption ended (or is ending) another way: a cancel after a fulfilment, the
    loser of two racing actions. It carries the state that won (``problem_fields``: the
    redemption's id, its status, and the intent of an action still under way)."""

    code = "redemption-state-conflict"

    def __init__(
        self,
        detail: str,
        *,
        redemption_id: str | None = None,
        status: str | None = None,
        intent: str | None = None,
    ) -> None:
        super().__init__(detail)
        fields = {
            "redemption_id": redemption_id,
            "redemption_status": status,
            "redemption_intent": intent,
        }
        self.problem_fields: dict[str, str] = {k: v for k, v in fields.items() if v is not None}


class TransfersDisabled(Conflict):
    """Gifts between users are switched off by configuration."""

    code = "transfers-disabled"


class TransferLimitReached(Conflict):
    """The gift would pass the sender's daily gift limit."""

    code = "transfer-limit-reached"


class RedemptionNotFound(NotFound):
    code = "not-found"
