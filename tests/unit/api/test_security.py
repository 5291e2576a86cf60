"""API keys and user tokens, with no I/O."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.security import (
    InvalidToken,
    Scope,
    issue_user_token,
    new_api_key,
    parse_scopes,
    secrets_match,
    split_api_key,
    verify_user_token,
)

SECRET = "s" * 64


def test_api_key_round_trip_stores_only_a_hash() -> None:
    key = new_api_key()
    parts = split_api_key(key.plaintext)
    assert parts is not None
    key_id, secret = parts
    assert key_id == key.id
    assert secret not in key.secret_hash and len(key.secret_hash) == 64
    assert secrets_match(secret, key.secret_hash)
    assert not secrets_match(secret + "x", key.secret_hash)


@pytest.mark.parametrize("bad", ["", "azora_", "azora_abc", "azora__secret", "Bearer x", "eyJ.a.b"])
def test_malformed_keys_are_not_split(bad: str) -> None:
    assert split_api_key(bad) is None


def test_scopes_parse_and_refuse_unknown() -> None:
    assert parse_scopes("ledger:read, entries:write") == {Scope.LEDGER_READ, Scope.ENTRIES_WRITE}
    with pytest.raises(ValueError, match="unknown scope"):
        parse_scopes("ledger:read root")


def test_user_token_round_trip() -> None:
    token, expires = issue_user_token("42", SECRET, 600)
    assert verify_user_token(token, SECRET) == "42"
    assert expires > datetime.now(UTC)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused() -> None:
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': '42', 'exp': exp})}."
    with pytest.raises(InvalidToken):
        verify_user_token(unsigned, SECRET)


def test_expired_token_is_refused() -> None:
    token, _ = issue_user_token("42", SECRET, 60, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        verify_user_token(token, SECRET)


def test_wrongly_signed_token_is_refused() -> None:
    token, _ = issue_user_token("42", "another-secret-" * 4, 600)
    with pytest.raises(InvalidToken):
        verify_user_token(token, SECRET)


def test_other_algorithms_and_missing_claims_are_refused() -> None:
    exp = datetime.now(UTC) + timedelta(hours=1)
    hs512 = jwt.encode({"sub": "42", "exp": exp}, SECRET, algorithm="HS512")
    no_exp = jwt.encode({"sub": "42"}, SECRET, algorithm="HS256")
    bad_sub = jwt.encode({"sub": "../42", "exp": exp}, SECRET, algorithm="HS256")
    for token in (hs512, no_exp, bad_sub):
        with pytest.raises(InvalidToken):
            verify_user_token(token, SECRET)
