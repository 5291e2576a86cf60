"""A Web3 connection to a JSON-RPC endpoint, with bounded timeouts and redacted errors."""

from __future__ import annotations

from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from chain.redact import install_log_filter, redact_text, redact_url, remember_url

RPC_TIMEOUT_S = 10.0


class RedactingHTTPProvider(HTTPProvider):
    """An HTTPProvider whose failures never carry the endpoint's path, query or userinfo."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except Exception as error:
            message = str(error)
            clean = redact_text(message)
            if clean == message:
                raise
            raise _same_kind(error, clean) from None

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


def connect(rpc_url: str, timeout_s: float = RPC_TIMEOUT_S) -> Web3:
    """A Web3 on ``rpc_url`` (http/https). Retries are ours (chain.retry), not the provider's."""
    if not rpc_url.startswith(("http://", "https://")):
        raise ValueError(f"unsupported RPC URL {redact_url(rpc_url)!r}: use http:// or https://")
    remember_url(rpc_url)
    install_log_filter()
    provider = RedactingHTTPProvider(
        rpc_url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
    )
    return Web3(provider)
