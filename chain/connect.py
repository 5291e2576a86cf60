"""A Web3 connection to a JSON-RPC endpoint, with bounded timeouts."""

from __future__ import annotations

from web3 import HTTPProvider, Web3

RPC_TIMEOUT_S = 10.0


def connect(rpc_url: str, timeout_s: float = RPC_TIMEOUT_S) -> Web3:
    """A Web3 on ``rpc_url`` (http/https). Retries are ours (chain.retry), not the provider's."""
    if not rpc_url.startswith(("http://", "https://")):
        raise ValueError(f"unsupported RPC URL {rpc_url!r}: use http:// or https://")
    provider = HTTPProvider(
        rpc_url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
    )
    return Web3(provider)
