"""The Stripe adapter: charges are PaymentIntents confirmed at once, through the official
``stripe`` package (its HTTP client, retries and error types; nothing hand-written).

The caller's idempotency key is Stripe's ``Idempotency-Key``, so a retry after an outage
returns the same PaymentIntent instead of charging again. Errors map onto the port's:
a card error (declined, insufficient funds, needs authentication) is
:class:`PaymentDeclined`; connection failures, rate limits and Stripe's own 5xx are
:class:`PaymentProviderUnavailable`; a reused key with other parameters is
:class:`PaymentIdempotencyConflict`; an unknown payment method :class:`InvalidPaymentMethod`.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from monetization.payments.errors import (
    InvalidPaymentMethod,
    PaymentDeclined,
    PaymentIdempotencyConflict,
    PaymentProviderUnavailable,
)
from monetization.payments.port import Charge, Refund, check_payment_method

log = logging.getLogger(__name__)

NETWORK_RETRIES = 2


def _translate(error: stripe.StripeError) -> Exception:
    if isinstance(error, stripe.CardError):
        return PaymentDeclined(f"the card was declined ({error.code or 'card_error'})")
    if isinstance(error, stripe.IdempotencyError):
        return PaymentIdempotencyConflict("the provider saw this key with other parameters")
    if isinstance(error, stripe.InvalidRequestError):
        if (error.http_status or 0) >= 500:
            return PaymentProviderUnavailable("the payment provider failed; retry")
        return InvalidPaymentMethod(f"the provider refused the request: {error.code or 'invalid'}")
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        log.error("Stripe refused our credentials: %s", error)
    return PaymentProviderUnavailable(
        "the payment provider is unavailable; nothing was charged, retry with the same key"
    )


class StripeProvider:
    name = "stripe"

    def __init__(self, api_key: str, *, client: stripe.StripeClient | None = None) -> None:
        self._client = client or stripe.StripeClient(api_key, max_network_retries=NETWORK_RETRIES)

    def charge(  # noqa: PLR0917 (the port's fixed signature, DESIGN §10)
        self,
        customer: str,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str,
    ) -> Charge:
        check_payment_method(payment_method)
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": payment_method,
            "confirm": True,
            "description": description,
            "metadata": {"azora_customer": customer, "azora_key": idempotency_key},
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
        if customer.startswith("cus_"):
            params["customer"] = customer
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from None
        if intent.status != "succeeded":
            # requires_action (3-D Secure) or requires_payment_method: not captured.
            raise PaymentDeclined(f"the payment was not completed ({intent.status})")
        return Charge(intent.id, amount, currency.lower(), payment_method)

    def refund(self, charge: str, amount: int, idempotency_key: str) -> Refund:
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": charge, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from None
        return Refund(refund.id, charge, amount)
