"""Licenses through the service on both back ends: issuing, idempotency, validation with
revocation, signing-key rotation, a changed secret, and the published keys."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from ledger import Conflict, IdempotencyConflict, InvalidRequest
from monetization.licensing import (
    LicenseStatus,
    Licensing,
    Limits,
    OrgNotFound,
    Reason,
    SigningKeyMismatch,
    Tier,
    verify,
)
from monetization.licensing.keyformat import public_key_from_text, sign
from monetization.licensing.signing import derive_private_key
from tests.integration.billing.conftest import Clock
from tests.integration.licensing.conftest import START, make_licensing, org_with_license, terms

pytestmark = pytest.mark.integration


def offline_keys(licensing: Licensing) -> dict[str, object]:
    published = licensing.signing.published(licensing.clock())
    return {k.kid: public_key_from_text(k.public_key) for k in published}


def test_an_issued_key_carries_the_license_and_validates(licensing: Licensing) -> None:
    lid = org_with_license(licensing, seats=7, limits=Limits(100, 2**40, None))
    made = licensing.licenses.get(lid)
    verdict = licensing.licenses.validate(made.key)
    assert verdict.valid and verdict.claims is not None
    c = verdict.claims
    assert (c.lid, c.org, c.tier, c.seats, c.kid) == (lid, "acme", "enterprise", 7, made.kid)
    assert c.limits == Limits(100, 2**40, None)
    assert (c.iat, c.exp) == (int(START.timestamp()), int(made.expires_at.timestamp()))
    # The same verdict offline, from the published keys alone.
    keys = offline_keys(licensing)
    assert verify(made.key, keys.get, int(START.timestamp())).claims == c  # type: ignore[arg-type]


def test_revoked_expired_and_unknown(licensing: Licensing, clock: Clock) -> None:
    lid = org_with_license(licensing, days=30)
    key = licensing.licenses.get(lid).key
    clock.advance(days=31)
    assert licensing.licenses.validate(key).reason is Reason.EXPIRED
    assert licensing.licenses.get(lid).status(clock()) is LicenseStatus.EXPIRED
    clock.set(START)
    revoked = licensing.licenses.revoke(lid)
    assert revoked.revoked_at == START and revoked.status(START) is LicenseStatus.REVOKED
    assert licensing.licenses.revoke(lid).revoked_at == START  # a repeat: the current state
    assert licensing.licenses.validate(key).reason is Reason.REVOKED
    assert licensing.licenses.validate("azl1.e30.AAAA").reason is Reason.MALFORMED


def test_keys_of_another_secret_are_unknown_or_bad(engine: Engine, clock: Clock) -> None:
    ours = make_licensing(engine, clock)
    lic = ours.licenses.get(org_with_license(ours))
    claims = ours.licenses.validate(lic.key).claims
    assert claims is not None
    forger = derive_private_key("another-secret-" + "z" * 30, claims.kid)
    assert ours.licenses.validate(sign(replace(claims, kid="k-other"), forger)).reason is (
        Reason.UNKNOWN_KEY
    )
    # Our kid, another secret: the signature does not verify.
    assert ours.licenses.validate(sign(replace(claims, seats=99), forger)).reason is (
        Reason.BAD_SIGNATURE
    )


def test_rotation_keeps_retired_keys_verifying_until_their_keys_expire(
    licensing: Licensing, clock: Clock
) -> None:
    first = licensing.licenses.get(org_with_license(licensing, days=60))
    old, new = licensing.signing.rotate()
    assert old == first.kid and new != old
    licensing.orgs.create("globex", "Globex", "gina")
    second, _ = licensing.licenses.issue("globex", terms(days=400), principal="key:t")
    assert second.kid == new
    published = {k.kid: k.status for k in licensing.signing.published(clock())}
    assert published == {old: "retired", new: "active"}
    assert licensing.licenses.validate(first.key).valid
    assert licensing.licenses.validate(second.key).valid
    keys_then = offline_keys(licensing)
    clock.advance(days=61)  # every key the retired key signed has expired: unpublished
    assert {k.kid for k in licensing.signing.published(clock())} == {new}
    now_s = int(clock().timestamp())
    assert verify(first.key, offline_keys(licensing).get, now_s).reason is Reason.UNKNOWN_KEY  # type: ignore[arg-type]
    assert verify(first.key, keys_then.get, now_s).reason is Reason.EXPIRED  # type: ignore[arg-type]
    assert licensing.licenses.validate(first.key).reason is Reason.EXPIRED  # online: known
    assert licensing.licenses.validate(second.key).valid


def test_a_changed_secret_cannot_sign_until_rotated(engine: Engine, clock: Clock) -> None:
    org_with_license(make_licensing(engine, clock))
    changed = make_licensing(engine, clock, secret="a-new-signing-secret-" + "q" * 20)
    with pytest.raises(SigningKeyMismatch):
        changed.licenses.issue("acme", terms(), principal="key:t")
    changed.signing.rotate()
    made, _ = changed.licenses.issue("acme", terms(), principal="key:t")
    assert changed.licenses.validate(made.key).valid


def test_issuing_is_idempotent_by_key(licensing: Licensing) -> None:
    licensing.orgs.create("acme", "Acme", "olga")
    first, created = licensing.licenses.issue("acme", terms(), principal="key:a", key="lic-1")
    again, created_again = licensing.licenses.issue("acme", terms(), principal="key:a", key="lic-1")
    assert created and not created_again and again == first
    other, _ = licensing.licenses.issue("acme", terms(), principal="key:b", key="lic-1")
    assert other.id != first.id  # keys are per principal
    with pytest.raises(IdempotencyConflict):
        licensing.licenses.issue("acme", terms(seats=9), principal="key:a", key="lic-1")
    assert len(licensing.licenses.of_org("acme")) == 2


def test_refusals_write_nothing(licensing: Licensing) -> None:
    with pytest.raises(OrgNotFound):
        licensing.licenses.issue("nobody", terms(), principal="key:t")
    licensing.orgs.create("acme", "Acme", "olga")
    for bad in (terms(price=100), terms(tier=Tier.STARTER), terms(method=None), terms(days=0)):
        with pytest.raises(InvalidRequest):
            licensing.licenses.issue("acme", bad, principal="key:t")
    assert licensing.licenses.of_org("acme") == []
    assert licensing.signing.published(START) == []  # not even a signing key was made


def test_concurrent_first_issues_share_one_signing_key(licensing: Licensing) -> None:
    for n in range(6):
        licensing.orgs.create(f"org{n}", f"Org {n}", "olga")
    kids: list[str] = []
    errors: list[Exception] = []

    def issue(n: int) -> None:
        try:
            kids.append(licensing.licenses.issue(f"org{n}", terms(), principal="key:t")[0].kid)
        except Exception as error:  # collected: the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(kids)) == 1


def test_concurrent_rotations_leave_one_active_key(licensing: Licensing) -> None:
    org_with_license(licensing)
    outcomes: list[str] = []

    def rotate() -> None:
        try:
            licensing.signing.rotate()
            outcomes.append("rotated")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=rotate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "rotated" in outcomes
    active = [k for k in licensing.signing.published(START) if k.status == "active"]
    assert len(active) == 1
    made, _ = licensing.licenses.issue("acme", terms(), principal="key:t")
    assert made.kid == active[0].kid and licensing.licenses.validate(made.key).valid
    assert START + timedelta(days=365) == made.expires_at
