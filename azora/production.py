"""The production guard: ``AZORA_ENV=production`` refuses insecure defaults.

It names each problem by its variable and never echoes a value (a secret's tail in an
error message or a log line is a leak).
"""

from __future__ import annotations

import re
from pathlib import Path

from azora.logkey import configured_key_text, log_key_problem
from azora.settings import Settings, weak_secret_problems
from chain.keys import is_public_dev_key

_HEX_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")


class InsecureConfiguration(ValueError):
    """What is wrong, one line per problem (no values)."""

    def __init__(self, problems: list[str], *, production: bool) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        what = "AZORA_ENV=production refuses to start" if production else "insecure settings"
        super().__init__(f"{what}:\n{lines}")


def _signing_key_text(settings: Settings) -> str | None:
    """The configured hex key, read from its file when given as one (None: a keystore)."""
    value = settings.anchor_private_key
    path = settings.anchor_private_key_file
    if value and not _HEX_KEY.fullmatch(value.strip()):
        path = Path(value)
    if path is None:
        return value
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None  # reported by the key loader with the path, not here
    return text if _HEX_KEY.fullmatch(text) else None


def _log_key_problems(settings: Settings, key_problem: str | None) -> list[str]:
    if not settings.log_signing_key:
        return ["AZORA_LOG_SIGNING_KEY is not set (the log's Ed25519 checkpoint key)"]
    if key_problem is not None:
        return []
    log_key = configured_key_text(settings.log_signing_key).strip()
    if is_public_dev_key(log_key):
        return ["AZORA_LOG_SIGNING_KEY is one of anvil's public development keys"]
    anchoring_key = (_signing_key_text(settings) or "").strip().lower().removeprefix("0x")
    if log_key.lower().removeprefix("0x") == anchoring_key:
        return ["AZORA_LOG_SIGNING_KEY must not be the anchoring key"]
    return []


def production_problems(settings: Settings) -> list[str]:
    problems = weak_secret_problems(settings)
    key_problem = log_key_problem(settings)
    if key_problem is not None:
        problems.append(key_problem)
    if not settings.production:
        return problems
    problems.extend(_log_key_problems(settings, key_problem))
    if not settings.jwt_secret:
        problems.append("AZORA_JWT_SECRET is not set")
    if not settings.license_signing_key:
        problems.append("AZORA_LICENSE_SIGNING_KEY is not set (it signs license keys)")
    if not settings.sso_encryption_keys:
        problems.append("AZORA_SSO_ENCRYPTION_KEY is not set (it seals SSO client secrets)")
    if settings.database_url.startswith("sqlite"):
        problems.append("AZORA_DATABASE_URL must name PostgreSQL, not SQLite")
    if settings.anchoring:
        if not (settings.anchor_private_key or settings.anchor_private_key_file):
            problems.append(
                "no signing key: set AZORA_ANCHOR_PRIVATE_KEY or AZORA_ANCHOR_PRIVATE_KEY_FILE"
            )
        key = _signing_key_text(settings)
        if key is not None and is_public_dev_key(key):
            problems.append("the signing key is one of anvil's public development keys")
    return problems


def refuse_insecure_production(settings: Settings) -> None:
    """Raise :class:`InsecureConfiguration` listing every problem; nothing when fine.

    Weak secrets (shorter than 32 characters) are refused in every environment.
    """
    problems = production_problems(settings)
    if problems:
        raise InsecureConfiguration(problems, production=settings.production)
