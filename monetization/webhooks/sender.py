"""Sending one delivery: a POST to a checked :class:`~monetization.webhooks.targets.Target`.

The connection goes to an address the check resolved (the URL's host is kept in ``Host``
and, for https, in the TLS server name, so certificates are verified against it): the name
is never resolved again between the check and the request. No redirect is followed (a 3xx
is a failure: a redirect could point anywhere), no proxy from the environment is used, and
the response body is not read.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from monetization.webhooks.model import ERROR_MAX_CHARS
from monetization.webhooks.targets import Target

ADDRESSES_TRIED_MAX = 3
USER_AGENT = "Azora-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Sent:
    """``status_code`` when the receiver answered, else ``error``; the time it took."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def acknowledged(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender(Protocol):
    def send(self, target: Target, body: bytes, headers: Mapping[str, str]) -> Sent: ...


def _describe(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text.encode("ascii", "backslashreplace").decode()[:ERROR_MAX_CHARS]


class HttpSender:
    """httpx, one client per process (connections reused), each phase bounded by timeout_s."""

    def __init__(self, timeout_s: float, *, verify: bool | ssl.SSLContext = True) -> None:
        self._client = httpx.Client(
            timeout=timeout_s, follow_redirects=False, trust_env=False, verify=verify
        )

    def close(self) -> None:
        self._client.close()

    def send(self, target: Target, body: bytes, headers: Mapping[str, str]) -> Sent:
        started = time.monotonic()
        error: Exception | None = None
        for address in target.addresses[:ADDRESSES_TRIED_MAX]:
            shown = f"[{address}]" if ":" in address else address
            url = f"{target.scheme}://{shown}:{target.port}{target.path}"
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request_headers = {
                **headers,
                "Host": target.host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            }
            try:
                with self._client.stream(
                    "POST", url, content=body, headers=request_headers, extensions=extensions
                ) as response:
                    return Sent(response.status_code, None, _ms_since(started))
            except httpx.ConnectError as failed:
                error = failed  # the next address of the name, if any
            except httpx.HTTPError as failed:
                return Sent(None, _describe(failed), _ms_since(started))
        assert error is not None
        return Sent(None, _describe(error), _ms_since(started))


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
