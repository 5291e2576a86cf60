"""Expected failures of the licensing domain, under the ledger's one root.

Each ``code`` is the last segment of the HTTP problem ``type``; ``api/errors.py`` maps it.
"""

from __future__ import annotations

from ledger import Conflict, InvalidRequest, LedgerError, NotFound


class OrgNotFound(NotFound):
    code = "not-found"


class OrgExists(Conflict):
    """An organization of that id exists with another name or owner."""

    code = "org-exists"


class SeatLimitReached(Conflict):
    """Every seat of the organization's license is taken (409)."""

    code = "seat-limit-reached"


class LastOwner(Conflict):
    """The change would leave the organization without an owner."""

    code = "last-owner"


class UsageLimitExceeded(Conflict):
    """The event would take the month's total past the license's limit: not recorded."""

    code = "usage-limit-exceeded"

    def __init__(self, detail: str, *, month_total: int, limit: int | None) -> None:
        super().__init__(detail)
        self.month_total = month_total
        self.limit = limit


class LicenseNotFound(NotFound):
    code = "not-found"


class InvalidLicense(InvalidRequest):
    """A license request outside its tier's rules (price, seats, limits, expiry)."""

    code = "invalid-license"


class DomainTaken(Conflict):
    """Another organization has verified this domain."""

    code = "domain-taken"


class DomainNotVerified(Conflict):
    """The ownership TXT record was not found: the domain stays pending."""

    code = "domain-not-verified"


class DnsUnavailable(LedgerError):
    """The DNS resolver did not answer (503): nothing changed, retry later."""

    code = "dns-unavailable"


class TicketStateConflict(Conflict):
    """The status change is not allowed from the ticket's status."""

    code = "ticket-state-conflict"


class SigningKeyMismatch(LedgerError):
    """The configured signing secret does not derive the active key's public key: the
    secret changed without ``azora license rotate-key`` (an operator error, 500)."""

    code = "signing-key-mismatch"
