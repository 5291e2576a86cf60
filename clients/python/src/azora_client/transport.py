"""The one place requests are sent: bounded retries that can never post twice.

A value-moving request carries one idempotency key per *logical* request (the caller's, or
a fresh UUID made before the first attempt) and every retry sends that same key, so a
retry after a lost answer gets the original result (``Idempotent-Replayed: true``) instead
of a second entry. Retried: transport errors (connection refused or reset, timeouts), 5xx,
and 429 (after its ``Retry-After``); backoff is exponential with jitter and bounded.
Everything else is raised at once as a typed :class:`~azora_client.errors.AzoraError`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from azora_client.errors import PROBLEM_BASE, TransportFailure, error_for

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 4
BACKOFF_BASE_S = 0.1
BACKOFF_MAX_S = 5.0
RETRY_AFTER_MAX_S = 30.0
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class Transport:
    """httpx.Client plus the retry rules; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send, retrying transport errors, 5xx and 429 (the same request, the same key)."""
        sent = dict(headers or {})
        if idempotency_key is not None:
            sent[IDEMPOTENCY_HEADER] = idempotency_key
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.http.request(
                    method, path, json=json, params=_params(params), headers=sent
                )
            except httpx.TransportError as error:
                if last:
                    raise TransportFailure(
                        0, {"type": PROBLEM_BASE + "transport", "detail": repr(error)}
                    ) from error
                self._sleep(self._backoff_s(attempt))
                continue
            if response.is_success:
                return response
            retryable = response.status_code >= 500 or response.status_code == 429
            if not retryable or last:
                raise error_for(response.status_code, _problem_of(response))
            self._sleep(self._wait_s(response, attempt))
        raise AssertionError("unreachable")

    def _backoff_s(self, attempt: int) -> float:
        ceiling: float = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto

    def _wait_s(self, response: httpx.Response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), RETRY_AFTER_MAX_S)
        return self._backoff_s(attempt)


def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the ones left unset (None)."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        if "retry_after_s" not in data and response.headers.get("Retry-After", "").isdigit():
            data["retry_after_s"] = int(response.headers["Retry-After"])
        return data
    return {"type": "", "detail": response.text[:500]}


def replayed(response: httpx.Response) -> bool:
    return bool(response.headers.get(REPLAYED_HEADER) == "true")
