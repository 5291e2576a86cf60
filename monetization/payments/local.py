"""The local provider: Stripe's test payment methods, answered in-process.

Deterministic, so it is idempotent without storage: a charge's id is derived from its
idempotency key, and its outcome from its payment method.

============================  ==========================================================
``pm_card_visa``              succeeds
``pm_card_chargeDeclined``    declined (402 ``payment-declined``; nothing changes)
``pm_card_unavailable``       a provider outage (503 ``payment-provider-unavailable``)
============================  ==========================================================
"""

from __future__ import annotations

import hashlib

from monetization.payments.errors import (
    InvalidPaymentMethod,
    PaymentDeclined,
    PaymentProviderUnavailable,
)
from monetization.payments.port import Charge, Refund, check_payment_method

VISA = "pm_card_visa"
DECLINED = "pm_card_chargeDeclined"
UNAVAILABLE = "pm_card_unavailable"
TEST_METHODS = (VISA, DECLINED, UNAVAILABLE)


def _id(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:24]


class LocalProvider:
    name = "local"

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
        assert type(amount) is int and amount > 0, amount
        if payment_method == DECLINED:
            raise PaymentDeclined("the card was declined (test method pm_card_chargeDeclined)")
        if payment_method == UNAVAILABLE:
            raise PaymentProviderUnavailable(
                "the payment provider is unavailable (test method pm_card_unavailable); "
                "nothing was charged, retry with the same Idempotency-Key"
            )
        if payment_method != VISA:
            raise InvalidPaymentMethod(
                f"unknown payment method {payment_method!r}; test methods: "
                + ", ".join(TEST_METHODS)
            )
        return Charge(_id("ch_local_", idempotency_key), amount, currency, payment_method)

    def refund(self, charge: str, amount: int, idempotency_key: str) -> Refund:
        assert type(amount) is int and amount > 0, amount
        return Refund(_id("re_local_", idempotency_key), charge, amount)
