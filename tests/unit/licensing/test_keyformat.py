"""The azl1 format (DESIGN §13) and every verdict: valid, tampered, other key, unknown
kid, expired, revoked, malformed, rotated — with no database."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from monetization.licensing.keyformat import (
    Claims,
    Limits,
    Reason,
    b64url,
    parse,
    payload_bytes,
    public_key_from_text,
    public_key_text,
    sign,
    unb64url,
    verify,
)
from monetization.licensing.signing import derive_private_key

LID = "0b6f3c52-8a55-4d0e-9f0b-2f1c6e7d9a10"
NOW = 1_900_000_000
SIGNER = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()


def claims(**changes: object) -> Claims:
    base: dict[str, object] = {
        "lid": LID, "org": "acme", "tier": "enterprise", "seats": 5,
        "limits": Limits(1000, None, 50), "iat": NOW - 10, "exp": NOW + 3600, "kid": "k1",
    }  # fmt: skip
    base.update(changes)
    return Claims(**base)  # type: ignore[arg-type]


def keys(**by_kid: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    return {kid: private.public_key() for kid, private in by_kid.items()}


KEYS = keys(k1=SIGNER)


def raw_key(payload: bytes, private: Ed25519PrivateKey = SIGNER) -> str:
    signed = f"azl1.{b64url(payload)}"
    return f"{signed}.{b64url(private.sign(signed.encode()))}"


def test_a_valid_key_verifies_with_its_claims() -> None:
    key = sign(claims(), SIGNER)
    verdict = verify(key, KEYS.get, NOW)
    assert verdict.valid and verdict.reason is None
    assert verdict.claims == claims()


def test_the_payload_is_compact_sorted_json_of_exactly_the_claims() -> None:
    key = sign(claims(), SIGNER)
    prefix, payload, signature = key.split(".")
    assert prefix == "azl1" and "=" not in payload + signature
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = json.loads(raw)
    assert sorted(decoded) == ["exp", "iat", "kid", "lid", "limits", "org", "seats", "tier", "v"]
    assert raw == json.dumps(decoded, sort_keys=True, separators=(",", ":")).encode()
    assert decoded["v"] == 1 and decoded["limits"]["storage_bytes"] is None
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64
    # The signature covers the ASCII bytes "azl1.<payload>".
    SIGNER.public_key().verify(
        base64.urlsafe_b64decode(signature + "=="), f"azl1.{payload}".encode()
    )


def test_a_tampered_payload_has_a_bad_signature() -> None:
    key = sign(claims(), SIGNER)
    prefix, _payload, signature = key.split(".")
    forged = b64url(payload_bytes(claims(seats=500)))
    verdict = verify(f"{prefix}.{forged}.{signature}", KEYS.get, NOW)
    assert verdict.reason is Reason.BAD_SIGNATURE and verdict.claims is None


def test_a_key_signed_by_another_key_has_a_bad_signature() -> None:
    assert verify(sign(claims(), OTHER), KEYS.get, NOW).reason is Reason.BAD_SIGNATURE


def test_an_unknown_kid_is_unknown_key() -> None:
    key = sign(claims(kid="nobody"), SIGNER)
    assert verify(key, KEYS.get, NOW).reason is Reason.UNKNOWN_KEY


@pytest.mark.parametrize(("now", "expired"), [(NOW + 3599, False), (NOW + 3600, True)])
def test_a_key_expires_at_exp(now: int, expired: bool) -> None:
    verdict = verify(sign(claims(), SIGNER), KEYS.get, now)
    assert verdict.reason is (Reason.EXPIRED if expired else None)
    assert verdict.claims == claims()


def test_a_revoked_license_is_revoked_before_expired() -> None:
    asked: list[str] = []

    def revoked(lid: str) -> bool:
        asked.append(lid)
        return lid == LID

    key = sign(claims(), SIGNER)
    assert verify(key, KEYS.get, NOW, revoked).reason is Reason.REVOKED
    assert verify(key, KEYS.get, NOW + 10**6, revoked).reason is Reason.REVOKED
    assert verify(sign(claims(lid=LID.replace("0b", "0c")), SIGNER), KEYS.get, NOW, revoked).valid
    # Revocation is asked about authentic keys only.
    asked.clear()
    assert verify(sign(claims(), OTHER), KEYS.get, NOW, revoked).reason is Reason.BAD_SIGNATURE
    assert asked == []


def test_a_rotated_key_still_verifies_what_the_retired_key_signed() -> None:
    old, new = derive_private_key("s" * 40, "old"), derive_private_key("s" * 40, "new")
    assert public_key_text(old.public_key()) != public_key_text(new.public_key())
    published = keys(old=old, new=new)
    assert verify(sign(claims(kid="old"), old), published.get, NOW).valid
    assert verify(sign(claims(kid="new"), new), published.get, NOW).valid
    # A key claiming the new kid but signed by the old key is refused.
    assert verify(sign(claims(kid="new"), old), published.get, NOW).reason is Reason.BAD_SIGNATURE


VALID = sign(claims(), SIGNER)
P, S = VALID.split(".")[1], VALID.split(".")[2]
MALFORMED = [
    "", "azl1", "azl1..", f"azl2.{P}.{S}", f"AZL1.{P}.{S}", f"azl1.{P}", f"azl1.{P}.{S}.x",
    f"azl1.{P}=.{S}", f"azl1.{P}.{S}==", f"azl1.{P}.{S[:-2]}", f"azl1.{P}.{S}AA",
    f"azl1.{P[:-1]}.{S}", f"azl1.{P}+.{S}", f" {VALID}", f"{VALID}\n", VALID + "\x00",
    "azl1.\ud800.x", "x" * 5000, f"azl1.{P}.{S[:-1]}B",
]  # fmt: skip


@pytest.mark.parametrize("key", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_keys_are_malformed(key: str) -> None:
    verdict = verify(key, KEYS.get, NOW)
    assert verdict.reason is Reason.MALFORMED and verdict.claims is None


@pytest.mark.parametrize(
    "payload",
    [
        b"not json", b"[]", b'{"v":1}', b"\xff\xfe",
        json.dumps({**claims().as_json(), "v": 2}).encode(),
        json.dumps({**claims().as_json(), "v": True}).encode(),
        json.dumps({**claims().as_json(), "seats": 0}).encode(),
        json.dumps({**claims().as_json(), "seats": 1.5}).encode(),
        json.dumps({**claims().as_json(), "seats": "5"}).encode(),
        json.dumps({**claims().as_json(), "exp": NOW - 100}).encode(),  # before iat
        json.dumps({**claims().as_json(), "exp": 10**13}).encode(),  # past year 9999
        json.dumps({**claims().as_json(), "tier": "gold"}).encode(),
        json.dumps({**claims().as_json(), "org": "Acme Inc"}).encode(),
        json.dumps({**claims().as_json(), "lid": "not-a-uuid"}).encode(),
        json.dumps({**claims().as_json(), "extra": 1}).encode(),
        json.dumps({**claims().as_json(), "limits": {"api_calls_per_month": -1,
                                                       "storage_bytes": None,
                                                       "active_users": None}}).encode(),
        json.dumps({**claims().as_json(), "limits": {}}).encode(),
        b'{"v":1,"v":1}',
        payload_bytes(claims())[:-1] + b',"kid":"k2"}',  # a repeated name
    ],
)  # fmt: skip
def test_payloads_outside_the_claims_shape_are_malformed_even_when_signed(payload: bytes) -> None:
    assert verify(raw_key(payload), KEYS.get, NOW).reason is Reason.MALFORMED


def test_base64url_is_canonical() -> None:
    assert unb64url("AA") == b"\x00"
    assert unb64url("AB") is None  # stray bits: another text for the same byte
    assert unb64url("A") is None and unb64url("A=") is None and unb64url("") is None
    key = SIGNER.public_key()
    assert public_key_from_text(public_key_text(key)) is not None
    assert public_key_from_text("AAAA") is None and public_key_from_text(42) is None


seats = st.integers(1, 1_000_000)
limit = st.none() | st.integers(0, 2**62)


@settings(max_examples=60, deadline=None)
@given(
    seats=seats,
    limits=st.builds(Limits, limit, limit, limit),
    tier=st.sampled_from(["starter", "professional", "enterprise", "custom"]),
    org=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True),
    lifetime=st.integers(1, 10**9),
)
def test_any_claims_round_trip(
    seats: int, limits: Limits, tier: str, org: str, lifetime: int
) -> None:
    made = claims(seats=seats, limits=limits, tier=tier, org=org, exp=NOW + lifetime)
    key = sign(made, SIGNER)
    parsed = parse(key)
    assert parsed is not None and parsed[0] == made
    assert verify(key, KEYS.get, NOW).claims == made


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, len(VALID) - 1), char=st.sampled_from("AQgw_-.x0"))
def test_no_single_character_change_stays_valid(position: int, char: str) -> None:
    changed = VALID[:position] + char + VALID[position + 1 :]
    if changed != VALID:
        verdict = verify(changed, KEYS.get, NOW)
        assert not verdict.valid
        assert verdict.reason in (Reason.MALFORMED, Reason.BAD_SIGNATURE, Reason.UNKNOWN_KEY)
