"""Payments: the provider port (DESIGN §10), its local and Stripe adapters, captures and
refunds as ledger entries, and verified provider webhooks.

``build_provider(kind, stripe_api_key)`` picks the adapter; everything else is built by
``monetization.billing.build_billing``.
"""

from __future__ import annotations

from monetization.payments.attempts import Attempt, AttemptCounts, AttemptLog, AttemptStatus
from monetization.payments.errors import (
    InvalidPaymentMethod,
    PaymentDeclined,
    PaymentError,
    PaymentIdempotencyConflict,
    PaymentProviderUnavailable,
    WebhookSignatureInvalid,
)
from monetization.payments.local import DECLINED, TEST_METHODS, UNAVAILABLE, VISA, LocalProvider
from monetization.payments.port import Charge, PaymentProvider, Refund
from monetization.payments.service import (
    CURRENCY,
    WORLD_CARD,
    Captured,
    PaymentMetrics,
    PaymentRequest,
    Payments,
    refund_postings,
)
from monetization.payments.webhooks import StripeSignatures, WebhookInbox


def build_provider(kind: str, stripe_api_key: str | None = None) -> PaymentProvider:
    """``"local"`` (test payment methods) or ``"stripe"`` (needs the API key)."""
    if kind == "local":
        return LocalProvider()
    if kind == "stripe":
        if not stripe_api_key:
            raise ValueError("AZORA_PAYMENT_PROVIDER=stripe needs AZORA_STRIPE_API_KEY")
        from monetization.payments.stripe_provider import StripeProvider

        return StripeProvider(stripe_api_key)
    raise ValueError(f"unknown payment provider {kind!r} (local, stripe)")


__all__ = [
    "CURRENCY",
    "DECLINED",
    "TEST_METHODS",
    "UNAVAILABLE",
    "VISA",
    "WORLD_CARD",
    "Attempt",
    "AttemptCounts",
    "AttemptLog",
    "AttemptStatus",
    "Captured",
    "Charge",
    "InvalidPaymentMethod",
    "LocalProvider",
    "PaymentDeclined",
    "PaymentError",
    "PaymentIdempotencyConflict",
    "PaymentMetrics",
    "PaymentProvider",
    "PaymentProviderUnavailable",
    "PaymentRequest",
    "Payments",
    "Refund",
    "StripeSignatures",
    "WebhookInbox",
    "WebhookSignatureInvalid",
    "build_provider",
    "refund_postings",
]
