"""Expected failures of payments, under the ledger's one root (the API maps ``code``)."""

from __future__ import annotations

from ledger.errors import Conflict, InvalidRequest, LedgerError


class PaymentError(LedgerError):
    """Root of the payment failures: nothing was charged, nothing was recorded."""

    code = "payment-error"


class PaymentDeclined(PaymentError):
    """The provider refused the charge (402): nothing changes."""

    code = "payment-declined"


class PaymentProviderUnavailable(PaymentError):
    """The provider could not be reached or failed (503): nothing was charged; retry with
    the same idempotency key."""

    code = "payment-provider-unavailable"


class InvalidPaymentMethod(InvalidRequest):
    code = "invalid-payment-method"


class PaymentIdempotencyConflict(Conflict):
    """The provider saw this idempotency key with other parameters."""

    code = "idempotency-conflict"


class WebhookSignatureInvalid(InvalidRequest):
    """The Stripe-Signature header does not authenticate this exact body now."""

    code = "webhook-signature-invalid"
