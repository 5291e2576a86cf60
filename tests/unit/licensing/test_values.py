"""Pure checks of licensing inputs, sealing of secrets, license terms and charge steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger import InvalidRequest
from monetization.licensing.charges import after_capture, after_decline, due_charge
from monetization.licensing.checks import (
    check_color,
    check_domain,
    check_email,
    check_https_url,
    check_instant,
    check_text,
)
from monetization.licensing.errors import InvalidLicense
from monetization.licensing.keyformat import Limits
from monetization.licensing.licenses import check_request
from monetization.licensing.model import BillingStatus, License, LicenseRequest, Tier
from monetization.sealing import Sealer, SealError

NOW = datetime(2030, 1, 31, 12, tzinfo=UTC)
HOSTILE_TEXT = ["", "   ", "a\x00b", "bad\ud800", "x" * 201, "tab\there", "bell\x07"]


@pytest.mark.parametrize("value", [*HOSTILE_TEXT, 42, None])
def test_hostile_text_is_refused(value: object) -> None:
    with pytest.raises(InvalidRequest):
        check_text(value, "name", 200)


def test_multiline_text_keeps_newlines_but_no_nul() -> None:
    assert check_text("line 1\nline 2\ttab", "body", 100, multiline=True)
    with pytest.raises(InvalidRequest):
        check_text("line\x00", "body", 100, multiline=True)


@pytest.mark.parametrize(
    "url",
    ["http://acme.com/logo.png", "https://", "https://user:pw@acme.com/x", "ftp://acme.com",
     "https://acme.com:99999/", "https://ac me.com/", "https://acme.com/\x00", "javascript:x",
     "https://xn--\ud800.com", "https://" + "a" * 2050],
)  # fmt: skip
def test_urls_must_be_https_with_a_host(url: str) -> None:
    with pytest.raises(InvalidRequest):
        check_https_url(url, "logo_url")


def test_good_values_pass() -> None:
    assert check_https_url("https://cdn.acme.com/logo.png?v=2", "logo_url")
    assert check_color("#a1B2c3", "c") == "#A1B2C3"
    assert check_email("support@acme.co.uk", "e")
    assert check_domain("learn.acme.com") == "learn.acme.com"


@pytest.mark.parametrize("color", ["red", "#abc", "#GGGGGG", "#1234567", "123456", "#12345\x00"])
def test_colours_are_rrggbb(color: str) -> None:
    with pytest.raises(InvalidRequest):
        check_color(color, "primary_color")


@pytest.mark.parametrize("email", ["no-at", "a@b", "a@.com", "a@b..com", "a b@c.com", "a@b.com."])
def test_emails_are_checked(email: str) -> None:
    with pytest.raises(InvalidRequest):
        check_email(email, "support_email")


@pytest.mark.parametrize(
    "domain",
    ["localhost", "ACME.com", "acme.com.", "-acme.com", "acme-.com", "a..com", "10.0.0.1",
     "acme_x.com", "*.acme.com", "a" * 64 + ".com", "acme.com\x00"],
)  # fmt: skip
def test_domains_are_host_names(domain: str) -> None:
    with pytest.raises(InvalidRequest):
        check_domain(domain)


def test_instants_stay_in_the_calendar() -> None:
    with pytest.raises(InvalidRequest):
        check_instant(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=14))), "x")
    with pytest.raises(InvalidRequest):
        check_instant(datetime(2030, 1, 1), "x")  # naive


def request(**changes: object) -> LicenseRequest:
    base: dict[str, object] = {
        "tier": Tier.ENTERPRISE, "seats": 5, "limits": Limits(),
        "expires_at": NOW + timedelta(days=365), "payment_method": "pm_card_visa",
    }  # fmt: skip
    base.update(changes)
    return LicenseRequest(**base)  # type: ignore[arg-type]


def test_tier_prices() -> None:
    assert check_request(request(), NOW)[0] == 29_900
    assert check_request(request(price_cents=50_000), NOW)[0] == 50_000
    assert check_request(request(tier=Tier.PROFESSIONAL), NOW)[0] == 9_900
    assert check_request(request(tier=Tier.CUSTOM, price_cents=0, payment_method=None), NOW)[0] == 0
    for bad in (
        request(price_cents=29_899),
        request(tier=Tier.PROFESSIONAL, price_cents=10_000),
        request(tier=Tier.STARTER),  # priced per contract: a price is needed
        request(payment_method=None),
        request(seats=0),
        request(limits=Limits(-1)),
        request(expires_at=NOW),
        request(expires_at=datetime(9999, 12, 31, 23, 30, tzinfo=timezone(-timedelta(hours=1)))),
        request(expires_at=datetime(9999, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)),
    ):
        with pytest.raises(InvalidRequest):
            check_request(bad, NOW)
    with pytest.raises(InvalidLicense):
        check_request(request(tier=Tier.STARTER), NOW)


def license_(**changes: object) -> License:
    base: dict[str, object] = {
        "id": "0b6f3c52-8a55-4d0e-9f0b-2f1c6e7d9a10", "org_id": "acme", "tier": Tier.ENTERPRISE,
        "seats": 5, "limits": Limits(), "price_cents": 29_900, "payment_method": "pm_card_visa",
        "kid": "k", "key": "azl1.x.y", "issued_at": NOW, "expires_at": NOW + timedelta(days=90),
        "revoked_at": None, "periods_charged": 0, "next_charge_at": NOW, "retry_at": None,
        "failed_attempts": 0, "billing_status": BillingStatus.CURRENT, "version": 1,
    }  # fmt: skip
    base.update(changes)
    return License(**base)  # type: ignore[arg-type]


def test_charge_steps() -> None:
    due = due_charge(license_())
    assert due is not None and due.period_end == datetime(2030, 2, 28, 12, tzinfo=UTC)
    assert due.request().ledger_key == f"license:charge:{due.license.id}:{int(NOW.timestamp())}"
    assert after_capture(due)["next_charge_at"] == due.period_end
    # From February 28 the anchor day (31) comes back in March.
    march = due_charge(license_(next_charge_at=due.period_end))
    assert march is not None and march.period_end == datetime(2030, 3, 31, 12, tzinfo=UTC)
    dues = [due_charge(license_(failed_attempts=n)) for n in (0, 1, 2)]
    declined = [after_decline(d, (1, 3)) for d in dues if d is not None]
    assert [d["billing_status"] for d in declined] == ["past_due", "past_due", "unpaid"]
    assert declined[0]["retry_at"] == NOW + timedelta(days=1)
    assert declined[1]["retry_at"] == NOW + timedelta(days=3)
    assert due_charge(license_(next_charge_at=NOW + timedelta(days=90))) is None  # expired
    assert due_charge(license_(next_charge_at=None)) is None


def test_sealed_secrets_open_only_for_their_owner_and_key() -> None:
    sealer = Sealer(["k" * 40])
    sealed = sealer.seal("client-secret-value", "sso:acme")
    assert "client-secret-value" not in sealed and sealed.startswith("v1.")
    assert sealer.open(sealed, "sso:acme") == "client-secret-value"
    assert sealer.seal("client-secret-value", "sso:acme") != sealed  # a fresh nonce
    with pytest.raises(SealError):
        sealer.open(sealed, "sso:other")
    with pytest.raises(SealError):
        Sealer(["z" * 40]).open(sealed, "sso:acme")
    tampered = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(SealError):
        sealer.open(tampered, "sso:acme")
    rotated = Sealer(["n" * 40, "k" * 40])  # the new key first, the old one still opens
    assert rotated.open(sealed, "sso:acme") == "client-secret-value"
    with pytest.raises(SealError):
        Sealer(["k" * 40]).open(rotated.seal("x", "o"), "o")
