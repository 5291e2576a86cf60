"""RPC URLs carry provider keys in their userinfo, path and query: never show those.

:func:`redact_url` keeps what an operator needs to tell endpoints apart (scheme, host,
port) and masks the rest. :func:`redact_text` removes every secret part of every URL given
to :func:`chain.connect.connect` in this process from a message (an exception from the HTTP
stack names the path it failed on, apart from the URL).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` with ``***`` for any userinfo, path (beyond ``/``) and query.

    Anything that does not parse as a URL is masked whole.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.hostname:
        return MASK
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{port}" if port is not None else host
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc}"
    secret_tail = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{parts.scheme}://{netloc}" + (f"/{MASK}" if secret_tail else "")


def _secret_parts(url: str) -> set[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    found = {url}
    if parts.path not in ("", "/"):
        found.add(parts.path)
        found.update(p for p in parts.path.split("/") if len(p) >= 8)
    if parts.query:
        found.add(parts.query)
        for pair in parts.query.split("&"):
            found.add(pair)
            value = pair.partition("=")[2]
            if len(value) >= 8:
                found.add(value)
    if parts.username:
        found.add(parts.username)
    if parts.password:
        found.add(parts.password)
    return {s for s in found if s}


def remember_url(url: str) -> None:
    """Register ``url``'s secret parts, so that :func:`redact_text` masks them anywhere."""
    with _lock:
        _secrets.update(_secret_parts(url))


def redact_text(text: str) -> str:
    """``text`` with every registered URL and its secret parts replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # whole URLs before their parts
    for secret in secrets:
        if secret in text:
            replacement = redact_url(secret) if "://" in secret else MASK
            text = text.replace(secret, replacement)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through :func:`redact_text` (for the HTTP stack's own
    debug lines, which name the full endpoint)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


# Loggers of the HTTP stack that print the endpoint with its path.
HTTP_LOGGERS = (
    "web3.providers.HTTPProvider",
    "web3._utils.http_session_manager.HTTPSessionManager",
    "urllib3.connectionpool",
)
_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Idempotent: puts the redacting filter on the HTTP stack's loggers."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
