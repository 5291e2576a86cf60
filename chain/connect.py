"""A Web3 connection to a JSON-RPC endpoint, with bounded timeouts and redacted errors.

Every failed call is reported to an :class:`RpcMetrics` (the composition root's counters;
nothing by default) by JSON-RPC method and kind: ``timeout``, ``connection`` (no answer),
``http`` (an HTTP error status), ``rpc`` (the node answered with a JSON-RPC error: a revert,
a nonce too low, ...) or ``other``. A call retried three times counts three errors.
"""

from __future__ import annotations

from typing import Any, Protocol

import requests
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from chain.redact import install_log_filter, redact_text, redact_url, remember_url

RPC_TIMEOUT_S = 10.0


class RpcMetrics(Protocol):
    def rpc_failed(self, method: str, kind: str) -> None: ...


def error_kind(error: Exception) -> str:
    """How a call failed, in a few words that make bounded labels."""
    if isinstance(error, requests.exceptions.Timeout | TimeoutError):
        return "timeout"
    if isinstance(error, requests.exceptions.ConnectionError | ConnectionError):
        return "connection"
    if isinstance(error, requests.exceptions.HTTPError):
        return "http"
    return "other"


class RedactingHTTPProvider(HTTPProvider):
    """An HTTPProvider whose failures never carry the endpoint's path, query or userinfo;
    each failure is reported to ``metrics`` when given."""

    metrics: RpcMetrics | None = None

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            response = super().make_request(method, params)
        except Exception as error:
            if self.metrics is not None:
                self.metrics.rpc_failed(str(method), error_kind(error))
            message = str(error)
            clean = redact_text(message)
            if clean == message:
                raise
            raise _same_kind(error, clean) from None
        if self.metrics is not None and response.get("error") is not None:
            self.metrics.rpc_failed(str(method), "rpc")
        return response

    def __str__(self) -> str:
        return f"RPC connection {redact_url(str(self.endpoint_uri))}"

    __repr__ = __str__


def _same_kind(error: Exception, message: str) -> Exception:
    """``error``'s type with ``message``, so retry policies still classify it; a plain
    ConnectionError when that type cannot be built from a message."""
    try:
        return type(error)(message)
    except Exception:
        return requests.exceptions.ConnectionError(message)


def connect(
    rpc_url: str, timeout_s: float = RPC_TIMEOUT_S, metrics: RpcMetrics | None = None
) -> Web3:
    """A Web3 on ``rpc_url`` (http/https). Retries are ours (chain.retry), not the provider's;
    failed calls are reported to ``metrics``."""
    if not rpc_url.startswith(("http://", "https://")):
        raise ValueError(f"unsupported RPC URL {redact_url(rpc_url)!r}: use http:// or https://")
    remember_url(rpc_url)
    install_log_filter()
    provider = RedactingHTTPProvider(
        rpc_url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
    )
    provider.metrics = metrics
    return Web3(provider)
