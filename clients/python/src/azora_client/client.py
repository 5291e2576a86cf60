"""A typed Python client for the Azora Ledger HTTP API, on httpx.

    import os
    from azora_client import AzoraClient, Posting

    with AzoraClient(os.environ["AZORA_URL"], os.environ["AZORA_KEY"]) as azora:
        azora.create_account("user:42:usd", "USD")
        entry = azora.post_entry("deposit", [Posting("world:card", "user:42:usd", "USD", "10")])

Every value-moving call gets one idempotency key per *logical* request (yours, or a fresh
UUID) and sends that same key on each retry, so a retry after a lost response can never
post twice (:mod:`azora_client.transport`). The calls are grouped by resource:
:class:`~azora_client.ledger.LedgerCalls`, :class:`~azora_client.rewards.RewardsCalls`,
:class:`~azora_client.proofs.ProofCalls`; the change stream and webhooks have modules of
their own beside these.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType

import httpx

from azora_client.ledger import LedgerCalls
from azora_client.proofs import ProofCalls
from azora_client.rewards import RewardsCalls
from azora_client.transport import (
    BACKOFF_BASE_S,
    BACKOFF_MAX_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    Transport,
)


class AzoraClient(LedgerCalls, RewardsCalls, ProofCalls):
    """Synchronous client; safe to share between threads (httpx.Client is).

    ``token`` is an API key (``azora_<id>_<secret>``) or a user token; None for the public
    routes only (anchors, consistency proofs, checkpoints).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._t = Transport(
            base_url,
            token,
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            transport=transport,
            sleep=sleep,
        )

    @classmethod
    def from_env(cls, **options: object) -> AzoraClient:
        """A client for ``$AZORA_URL`` with ``$AZORA_KEY`` (what the README exports)."""
        return cls(os.environ["AZORA_URL"], os.environ.get("AZORA_KEY"), **options)  # type: ignore[arg-type]

    @property
    def max_retries(self) -> int:
        return self._t.max_retries

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> AzoraClient:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()
