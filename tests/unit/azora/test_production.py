"""The production guard: refuses each insecure setting by name, never echoing a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from azora.production import (
    InsecureConfiguration,
    production_problems,
    refuse_insecure_production,
)
from azora.settings import Settings
from chain.devchain import ANVIL_DEV_KEY
from chain.keys import is_public_dev_key

DEV_ACCOUNTS = 10  # anvil's funded accounts, from its public mnemonic

PG = "postgresql+psycopg://azora@db.internal/azora"
STRONG = "s3cret-" + "x" * 40
REAL_KEY = "0x" + "7" * 64  # not one of anvil's
LOG_KEY = "5" * 64  # an Ed25519 seed


def production(**values: object) -> Settings:
    base: dict[str, object] = {
        "env": "production",
        "database_url": PG,
        "jwt_secret": STRONG,
        "anchor_private_key": REAL_KEY,
        "log_signing_key": LOG_KEY,
        "license_signing_key": STRONG + "-license",
        "sso_encryption_key": STRONG + "-sso",
    }
    base.update(values)
    return Settings(**base)  # type: ignore[arg-type]


def test_a_sound_production_configuration_passes() -> None:
    refuse_insecure_production(production())


def test_anvils_dev_keys_are_recognised() -> None:
    assert is_public_dev_key(ANVIL_DEV_KEY)
    assert not is_public_dev_key(REAL_KEY)
    assert not is_public_dev_key("not a key")
    Account.enable_unaudited_hdwallet_features()
    for index in range(DEV_ACCOUNTS):
        account = Account.from_mnemonic(
            "test test test test test test test test test test test junk",
            account_path=f"m/44'/60'/0'/0/{index}",
        )
        assert is_public_dev_key(account.key.hex())


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"anchor_private_key": ANVIL_DEV_KEY}, "public development keys"),
        ({"jwt_secret": "x"}, "AZORA_JWT_SECRET"),
        ({"jwt_secret": None}, "AZORA_JWT_SECRET"),
        ({"admin_api_key": "admin"}, "AZORA_ADMIN_API_KEY"),
        ({"database_url": "sqlite:///.azora/ledger.db"}, "PostgreSQL"),
        ({"anchor_private_key": None}, "no signing key"),
        ({"log_signing_key": None}, "AZORA_LOG_SIGNING_KEY is not set"),
        ({"log_signing_key": "not-a-key"}, "neither an Ed25519 key nor a readable key file"),
        ({"log_signing_key": "0x" + "7" * 64}, "must not be the anchoring key"),
        ({"log_signing_key": ANVIL_DEV_KEY}, "AZORA_LOG_SIGNING_KEY is one of anvil's"),
        ({"license_signing_key": None}, "AZORA_LICENSE_SIGNING_KEY"),
        ({"license_signing_key": "short"}, "AZORA_LICENSE_SIGNING_KEY"),
        ({"sso_encryption_key": None}, "AZORA_SSO_ENCRYPTION_KEY"),
        ({"sso_encryption_key": STRONG + ",short"}, "AZORA_SSO_ENCRYPTION_KEY"),
    ],
)
def test_each_insecure_setting_is_refused_by_name(values: dict[str, object], named: str) -> None:
    with pytest.raises(InsecureConfiguration) as refused:
        refuse_insecure_production(production(**values))
    message = str(refused.value)
    assert named in message
    assert message.startswith("AZORA_ENV=production refuses to start")
    for secret in (ANVIL_DEV_KEY, ANVIL_DEV_KEY[-12:], "admin"):
        if secret in str(values.values()):
            assert secret not in message.replace("AZORA_ADMIN_API_KEY", "")


def test_a_key_given_only_as_a_file_is_accepted(tmp_path: Path) -> None:
    key_file = tmp_path / "anchor.key"
    key_file.write_text(REAL_KEY + "\n")
    settings = production(anchor_private_key=None, anchor_private_key_file=key_file)
    assert production_problems(settings) == []


def test_a_dev_key_in_a_file_is_refused_too(tmp_path: Path) -> None:
    key_file = tmp_path / "anchor.key"
    key_file.write_text(ANVIL_DEV_KEY)
    problems = production_problems(production(anchor_private_key=str(key_file)))
    assert problems == ["the signing key is one of anvil's public development keys"]


def test_weak_secrets_are_refused_in_development_too() -> None:
    problems = production_problems(Settings(jwt_secret="short", admin_api_key="admin"))
    assert len(problems) == 2
    assert all("at least 32 characters" in p for p in problems)
    assert production_problems(Settings()) == []


def test_no_secret_appears_in_the_refusal() -> None:
    secret_tail = "TAIL-OF-A-SECRET"
    with pytest.raises(InsecureConfiguration) as refused:
        refuse_insecure_production(production(jwt_secret="tiny" + secret_tail[:8]))
    assert secret_tail[:8] not in str(refused.value)


def test_the_log_key_may_be_a_file_in_any_accepted_form(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "log.pem"
    key_file.write_bytes(pem)
    assert production_problems(production(log_signing_key=str(key_file))) == []
    key_file.write_text("garbage")
    (problem,) = production_problems(production(log_signing_key=str(key_file)))
    assert problem.startswith("AZORA_LOG_SIGNING_KEY: not an Ed25519 signing key")


def test_a_signer_key_must_carry_the_configured_origin() -> None:
    from ledger.tlog import NoteSigner

    key = NoteSigner("example.com/other", b"\x09" * 32).encode()
    assert production_problems(production(log_signing_key=key)) == []  # default origin
    (problem,) = production_problems(production(log_signing_key=key, log_origin="example.com/log"))
    assert "named 'example.com/other'" in problem and key[20:] not in problem


@pytest.mark.parametrize("origin", ["", "two words", "a+b", "tab\there", "nul\x00"])
def test_a_malformed_origin_is_refused_at_start(origin: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="log_origin"):
        Settings(log_origin=origin)
