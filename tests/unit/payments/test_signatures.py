"""Stripe-Signature verification: the cases of DESIGN §10, signed with the stripe package's
own header generator and, independently, with a plain HMAC written in the test."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import stripe

from monetization.payments import StripeSignatures, WebhookSignatureInvalid

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
EVENT = {"id": "evt_1", "type": "invoice.paid", "data": {"object": {"amount_paid": 999}}}
BODY = json.dumps(EVENT, separators=(",", ":")).encode()


def sign(body: bytes, secret: str, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def header(body: bytes, secret: str = SECRET, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    return f"t={t},v1={sign(body, secret, t)}"


@pytest.fixture
def verifier() -> StripeSignatures:
    return StripeSignatures([SECRET, OLD_SECRET])


def test_valid_signature(verifier: StripeSignatures) -> None:
    assert verifier.verify(BODY, header(BODY))["id"] == "evt_1"
    # The library's own test header agrees with ours.
    generated = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET)
    assert verifier.verify(BODY, generated)["type"] == "invoice.paid"


def test_a_rotated_out_secret_still_verifies_during_rotation(verifier: StripeSignatures) -> None:
    assert verifier.verify(BODY, header(BODY, OLD_SECRET))["id"] == "evt_1"


@pytest.mark.parametrize(
    "case",
    ["body changed", "wrong secret", "301 s old", "301 s ahead", "no v1", "re-serialized",
     "no header", "no timestamp", "v0 only"],
)  # fmt: skip
def test_refused(verifier: StripeSignatures, case: str) -> None:
    now = int(time.time())
    body, sig = BODY, header(BODY)
    if case == "body changed":
        body = BODY.replace(b"999", b"998")
    elif case == "wrong secret":
        sig = header(BODY, "whsec_someone_else")
    elif case == "301 s old":
        sig = header(BODY, t=now - 301)
    elif case == "301 s ahead":
        sig = header(BODY, t=now + 301)
    elif case == "no v1":
        sig = f"t={now}"
    elif case == "re-serialized":
        body = json.dumps(json.loads(BODY), indent=2).encode()  # same event, other bytes
    elif case == "no header":
        sig = ""
    elif case == "no timestamp":
        sig = f"v1={sign(BODY, SECRET, now)}"
    elif case == "v0 only":
        sig = f"t={now},v0={sign(BODY, SECRET, now)}"
    with pytest.raises(WebhookSignatureInvalid):
        verifier.verify(body, sig)


def test_two_signatures_of_which_one_is_valid(verifier: StripeSignatures) -> None:
    now = int(time.time())
    forged = "0" * 64
    both = f"t={now},v1={forged},v1={sign(BODY, SECRET, now)}"
    assert verifier.verify(BODY, both)["id"] == "evt_1"
    with pytest.raises(WebhookSignatureInvalid):
        verifier.verify(BODY, f"t={now},v1={forged},v1={'1' * 64}")


def test_within_the_tolerance_is_accepted(verifier: StripeSignatures) -> None:
    now = int(time.time())
    assert verifier.verify(BODY, header(BODY, t=now - 290))["id"] == "evt_1"


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe not utf-8", b"[1, 2]", b'{"id": 5, "type": "x"}', b'{"type": "x"}', b"\x00"],
)
def test_signed_garbage_is_refused_not_crashed(verifier: StripeSignatures, payload: bytes) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verifier.verify(payload, header(payload))


def test_no_secret_configured_refuses_everything() -> None:
    with pytest.raises(WebhookSignatureInvalid):
        StripeSignatures([]).verify(BODY, header(BODY))
