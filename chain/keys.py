"""The signing account from explicit values (the composition root reads them from settings).

Nothing here reads the environment: :func:`load_account` takes the configured key (a hex
key or the path of a key file, hex or an encrypted keystore), the keystore's password and
the chain id, and falls back to anvil's public dev key on anvil's chain id only.
:func:`is_public_dev_key` lets the production guard refuse that key wherever it appears.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.devchain import ANVIL_CHAIN_ID, ANVIL_DEV_KEY
from chain.errors import SignerKeyError

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
# Anvil's (and Hardhat's) default mnemonic, accounts 0-9: published, so never a real key.
PUBLIC_DEV_KEYS = frozenset(
    k.lower()
    for k in (
        ANVIL_DEV_KEY[2:],
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
        "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
        "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    )
)


def is_public_dev_key(value: str) -> bool:
    """True when ``value`` (hex, with or without 0x) is one of the published dev keys."""
    text = value.strip().lower()
    return text.removeprefix("0x") in PUBLIC_DEV_KEYS


def _account_from_hex(text: str, where: str) -> LocalAccount:
    text = text.strip()
    if not _HEX_KEY.match(text):
        raise SignerKeyError(f"{where} is not a 32-byte hex private key")
    account: LocalAccount = Account.from_key(text)
    return account


def _account_from_file(path: Path, password: str | None) -> LocalAccount:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise SignerKeyError(f"cannot read key file {path}: {e.strerror}") from None
    if text.startswith("{"):  # an encrypted keystore (geth / eth-account JSON)
        if password is None:
            raise SignerKeyError(f"{path} is a keystore: give its password")
        try:
            key = Account.decrypt(json.loads(text), password)
        except ValueError:
            raise SignerKeyError(f"cannot decrypt keystore {path} (wrong password?)") from None
        account: LocalAccount = Account.from_key(key)
        return account
    return _account_from_hex(text, f"key file {path}")


def load_account(
    key: str | None,
    *,
    chain_id: int,
    keystore_password: str | None = None,
) -> LocalAccount:
    """The signing account.

    ``key`` is a 32-byte hex private key or the path of a key file (hex, or a keystore JSON
    decrypted with ``keystore_password``). Without one, anvil's public dev key, and only
    when ``chain_id`` is anvil's (31337). Raises SignerKeyError otherwise (a real chain never
    gets a default key); its message never contains the key.
    """
    if key is not None and (value := key.strip()):
        if _HEX_KEY.match(value):
            return _account_from_hex(value, "the signing key")
        if Path(value).is_file():
            return _account_from_file(Path(value), keystore_password)
        raise SignerKeyError("the signing key is neither a hex private key nor a file")
    if chain_id == ANVIL_CHAIN_ID:
        return _account_from_hex(ANVIL_DEV_KEY, "anvil dev key")
    raise SignerKeyError(f"no signing key for chain {chain_id}: configure one")
