"""The payment provider port: what the domains need from a card processor, nothing more.

``charge`` captures at once or raises; ``refund`` gives back part or all of a charge. Both
take the caller's idempotency key: the same key sent again answers the same charge (or the
same refusal) and never charges twice. A provider says no with a typed error:
:class:`PaymentDeclined` (the card was refused: nothing happened),
:class:`PaymentProviderUnavailable` (outage: nothing was charged, retry with the same key),
:class:`InvalidPaymentMethod`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from monetization.payments.errors import InvalidPaymentMethod

PAYMENT_METHOD_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
PROVIDER_KEY_MAX_CHARS = 128


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    amount: int  # smallest units of ``currency``
    currency: str
    payment_method: str


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    charge_id: str
    amount: int


class PaymentProvider(Protocol):
    name: str

    def charge(  # noqa: PLR0917 (the port's fixed signature, DESIGN §10)
        self,
        customer: str,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str,
    ) -> Charge: ...

    def refund(self, charge: str, amount: int, idempotency_key: str) -> Refund: ...


def check_payment_method(payment_method: object) -> str:
    if not isinstance(payment_method, str) or not PAYMENT_METHOD_RE.fullmatch(payment_method):
        raise InvalidPaymentMethod("payment_method must be 1-64 characters of [A-Za-z0-9_]")
    return payment_method
