"""Where the signing key comes from: environment, a file, or (local chains only) anvil's."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.devchain import ANVIL_CHAIN_ID, ANVIL_DEV_KEY
from chain.errors import SignerKeyError

KEY_ENV_VAR = "AZORA_ANCHOR_PRIVATE_KEY"
KEY_FILE_ENV_VAR = "AZORA_ANCHOR_PRIVATE_KEY_FILE"
KEYSTORE_PASSWORD_ENV_VAR = "AZORA_ANCHOR_KEYSTORE_PASSWORD"  # noqa: S105 - a variable name
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def _account_from_hex(text: str, where: str) -> LocalAccount:
    text = text.strip()
    if not _HEX_KEY.match(text):
        raise SignerKeyError(f"{where} is not a 32-byte hex private key")
    account: LocalAccount = Account.from_key(text)
    return account


def _account_from_file(path: Path, env: Mapping[str, str]) -> LocalAccount:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise SignerKeyError(f"cannot read key file {path}: {e}") from e
    if text.startswith("{"):  # an encrypted keystore (geth / eth-account JSON)
        password = env.get(KEYSTORE_PASSWORD_ENV_VAR)
        if password is None:
            raise SignerKeyError(f"{path} is a keystore: set {KEYSTORE_PASSWORD_ENV_VAR}")
        try:
            key = Account.decrypt(json.loads(text), password)
        except ValueError as e:
            raise SignerKeyError(f"cannot decrypt keystore {path}: {e}") from e
        account: LocalAccount = Account.from_key(key)
        return account
    return _account_from_hex(text, f"key file {path}")


def load_account(
    env: Mapping[str, str] | None = None,
    key_file: Path | None = None,
    chain_id: int | None = None,
) -> LocalAccount:
    """The signing account, from the first of:

    1. ``key_file`` (hex key or keystore JSON);
    2. ``$AZORA_ANCHOR_PRIVATE_KEY``: a hex key, or the path of a key file;
    3. ``$AZORA_ANCHOR_PRIVATE_KEY_FILE``;
    4. anvil's public dev key, only when ``chain_id`` is anvil's (31337).

    Raises SignerKeyError otherwise: a real chain never gets a default key.
    """
    env = os.environ if env is None else env
    if key_file is not None:
        return _account_from_file(key_file, env)
    if value := env.get(KEY_ENV_VAR, "").strip():
        if _HEX_KEY.match(value):
            return _account_from_hex(value, KEY_ENV_VAR)
        if Path(value).is_file():
            return _account_from_file(Path(value), env)
        raise SignerKeyError(f"{KEY_ENV_VAR} is neither a hex private key nor a file")
    if path := env.get(KEY_FILE_ENV_VAR, "").strip():
        return _account_from_file(Path(path), env)
    if chain_id == ANVIL_CHAIN_ID:
        return _account_from_hex(ANVIL_DEV_KEY, "anvil dev key")
    raise SignerKeyError(f"no signing key: set {KEY_ENV_VAR} or {KEY_FILE_ENV_VAR}")
