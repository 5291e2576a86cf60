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
    """The redemption already ended another way (e.g. cancel after fulfilment)."""

    code = "redemption-state-conflict"


class TransfersDisabled(Conflict):
    """Gifts between users are switched off by configuration."""

    code = "transfers-disabled"


class TransferLimitReached(Conflict):
    """The gift would pass the sender's daily gift limit."""

    code = "transfer-limit-reached"


class RedemptionNotFound(NotFound):
    code = "not-found"
