"""The log's checkpoint key from the settings (DESIGN §14).

``AZORA_LOG_SIGNING_KEY`` is the key itself (any form :func:`ledger.tlog.parse_signing_key`
reads) or the path of a file holding it. Unset, development generates a 32-byte Ed25519
seed once under the data directory (:func:`azora.devsecrets.dev_secret`), so a restart
keeps the key auditors pinned; production refuses to start without it
(:mod:`azora.production`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from azora.devsecrets import dev_secret
from azora.settings import Settings
from ledger.tlog import MalformedKey, parse_signing_key

LOG_KEY_FILE = "log-signing-key"
SEED_BYTES = 32


class LogKeyUnreadable(MalformedKey):
    """The configured key file cannot be read."""


def configured_key_text(value: str) -> str:
    """The key in ``value``, or in the file ``value`` names. Messages never echo the key."""
    try:
        parse_signing_key(value, None)
    except MalformedKey:
        pass
    else:
        return value
    path = Path(value.strip())
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError, UnicodeError):
        raise LogKeyUnreadable(
            "AZORA_LOG_SIGNING_KEY is neither an Ed25519 key nor a readable key file"
        ) from None


def log_signing_key_text(settings: Settings) -> str:
    """The log's signing key text: configured, or the development key under data_dir."""
    if settings.log_signing_key:
        return configured_key_text(settings.log_signing_key)
    return dev_secret(settings.data_dir / LOG_KEY_FILE, lambda: secrets.token_hex(SEED_BYTES))


def log_key_problem(settings: Settings) -> str | None:
    """What is wrong with the configured key (None: fine, or not configured)."""
    if not settings.log_signing_key:
        return None
    try:
        parse_signing_key(configured_key_text(settings.log_signing_key), settings.log_origin)
    except MalformedKey as error:
        return f"AZORA_LOG_SIGNING_KEY: {error}"
    return None
