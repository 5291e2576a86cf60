"""Expected failures of the marketplace, under the ledger's one root.

Each ``code`` is the last segment of the HTTP problem ``type``; ``api/errors.py`` maps it.
"""

from __future__ import annotations

from ledger.errors import Conflict, IdempotencyConflict, InvalidRequest, LedgerError, NotFound


class InvalidCourse(InvalidRequest):
    """A course field is malformed (title, level, language, price, tags...)."""

    code = "invalid-course"


class CourseNotFound(NotFound):
    code = "not-found"


class PlanRequired(Conflict):
    """Publishing a paid course needs the instructor on ``pro`` or ``enterprise``."""

    code = "plan-required"


class PublishLimitReached(Conflict):
    """The instructor's plan allows no more published courses."""

    code = "publish-limit-reached"


class CourseStateConflict(Conflict):
    """The course is not in a state that allows this (e.g. buying an unpublished course)."""

    code = "course-state-conflict"


class AlreadyPurchased(Conflict):
    code = "already-purchased"


class OwnCourse(Conflict):
    """An instructor has access to their own course: there is nothing to buy."""

    code = "own-course"


class PurchaseInProgress(Conflict):
    """The same purchase request is being processed: retry shortly with the same key."""

    code = "purchase-in-progress"


class RefundWindowClosed(Conflict):
    code = "refund-window-closed"


class PurchaseStateConflict(Conflict):
    """The purchase is busy (a refund or a release is under way) or in another state."""

    code = "purchase-state-conflict"


class MarketIdempotencyConflict(IdempotencyConflict):
    """The Idempotency-Key was used for another marketplace request."""


class NotABuyer(LedgerError):
    """Only buyers of a course review it (403)."""

    code = "not-a-buyer"


class AlreadyReviewed(Conflict):
    code = "already-reviewed"


class InvalidReview(InvalidRequest):
    code = "invalid-review"


class PayoutStateConflict(Conflict):
    """The payout was already resolved the other way (completed vs failed)."""

    code = "payout-state-conflict"


class MaterialTooLarge(InvalidRequest):
    """An upload passed the size limit (413): nothing was stored."""

    code = "material-too-large"


class UnsupportedMaterial(InvalidRequest):
    """The file's type is not allowed, or its bytes do not match the type it claims (415)."""

    code = "unsupported-material"


class InvalidCursor(InvalidRequest):
    """A ``cursor`` that no page of this listing gave out."""

    code = "invalid-cursor"
