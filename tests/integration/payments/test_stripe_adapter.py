"""The Stripe adapter against a Stripe-shaped HTTP server on loopback: the official
library's own client does the requests, retries and error parsing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe

from monetization.payments import (
    InvalidPaymentMethod,
    PaymentDeclined,
    PaymentProviderUnavailable,
)
from monetization.payments.stripe_provider import StripeProvider


class FakeStripe(BaseHTTPRequestHandler):
    """Answers like Stripe's API for the few calls the adapter makes; replays by key."""

    seen: dict[str, tuple[int, dict[str, Any]]] = {}  # noqa: RUF012 - one per test module
    requests: list[tuple[str, dict[str, list[str]], str]] = []  # noqa: RUF012

    def log_message(self, *_args: Any) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        key = self.headers.get("Idempotency-Key", "")
        self.requests.append((self.path, form, key))
        if key not in self.seen:
            self.seen[key] = self._answer(form)
        status, body = self.seen[key]
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _answer(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        n = len(self.seen) + 1
        if self.path == "/v1/refunds":
            return 200, {"id": f"re_{n}", "object": "refund", "amount": int(form["amount"][0])}
        method = form.get("payment_method", [""])[0]
        if method == "pm_card_chargeDeclined":
            return 402, {"error": {"type": "card_error", "code": "card_declined",
                                   "message": "Your card was declined."}}  # fmt: skip
        if method == "pm_card_unavailable":
            return 503, {"error": {"type": "api_error", "message": "try later"}}
        if method == "pm_card_threeDSecure":
            return 200, {"id": f"pi_{n}", "object": "payment_intent", "status": "requires_action"}
        if method.startswith("pm_card_"):
            return 200, {"id": f"pi_{n}", "object": "payment_intent", "status": "succeeded",
                         "amount": int(form["amount"][0])}  # fmt: skip
        return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                               "message": "No such PaymentMethod"}}  # fmt: skip


@pytest.fixture
def provider() -> Iterator[StripeProvider]:
    FakeStripe.seen.clear()
    FakeStripe.requests.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = stripe.StripeClient(
        "sk_test_local",
        base_addresses={"api": f"http://127.0.0.1:{server.server_address[1]}"},
        max_network_retries=0,
    )
    yield StripeProvider("sk_test_local", client=client)
    server.shutdown()


def test_a_charge_is_a_confirmed_payment_intent_keyed_by_ours(provider: StripeProvider) -> None:
    charge = provider.charge("42", 999, "USD", "pm_card_visa", "key-1", "Azora pro")
    again = provider.charge("42", 999, "USD", "pm_card_visa", "key-1", "Azora pro")
    assert charge == again and charge.id.startswith("pi_") and charge.amount == 999
    path, form, key = FakeStripe.requests[0]
    assert (path, key) == ("/v1/payment_intents", "key-1")
    assert form["amount"] == ["999"] and form["currency"] == ["usd"]
    assert form["confirm"] == ["true"] and form["metadata[azora_customer]"] == ["42"]


@pytest.mark.parametrize(
    ("method", "error"),
    [("pm_card_chargeDeclined", PaymentDeclined), ("pm_card_threeDSecure", PaymentDeclined),
     ("pm_card_unavailable", PaymentProviderUnavailable), ("pm_nothing", InvalidPaymentMethod)],
)  # fmt: skip
def test_refusals_map_to_the_port_errors(
    provider: StripeProvider, method: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        provider.charge("42", 999, "usd", method, f"key-{method}", "x")


def test_a_refund_names_the_payment_intent(provider: StripeProvider) -> None:
    refund = provider.refund("pi_7", 500, "refund-1")
    assert refund.charge_id == "pi_7" and refund.amount == 500
    path, form, key = FakeStripe.requests[-1]
    assert (path, form["payment_intent"], form["amount"], key) == (
        "/v1/refunds", ["pi_7"], ["500"], "refund-1",
    )  # fmt: skip


def test_nothing_answers_is_unavailable() -> None:
    client = stripe.StripeClient(
        "sk_test_local", base_addresses={"api": "http://127.0.0.1:9"}, max_network_retries=0
    )
    with pytest.raises(PaymentProviderUnavailable):
        StripeProvider("sk_test_local", client=client).charge("42", 1, "usd", "pm_card_visa",
                                                              "k", "x")  # fmt: skip
