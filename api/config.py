"""What the HTTP layer is configured with, handed to it by the composition root.

``api/`` reads no environment and imports nothing of ``azora/``: :mod:`azora.bootstrap`
builds an :class:`ApiConfig` from the one settings object and an
:class:`api.context.ApiContext` around it.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Limits and credentials of the HTTP layer. Units are in the names."""

    jwt_secret: str
    admin_api_key: str | None = None
    rate_limit_per_s: float = 20_000.0
    rate_limit_burst: int = 40_000
    max_body_bytes: int = 4 * MIB
    user_token_ttl_s: int = 3600
    key_cache_ttl_s: float = 2.0
    # For the Retry-After of an entry not anchored yet.
    anchor_interval_s: float = 60.0
    # Course material uploads (multipart, streamed): their own body limit.
    upload_max_bytes: int = 256 * MIB
    # The change stream over SSE (GET /v1/events with Accept: text/event-stream).
    events_poll_interval_s: float = 0.5
    events_stream_max_s: float = 60.0
    events_streams_max: int = 100
    # An access line per request (with its request id) through the `azora.access` logger.
    access_log: bool = False
    # The chain's JSON-RPC URL as the pages under /app reach it (their CSP allows it).
    public_rpc_url: str = "http://127.0.0.1:8545"
    # Origins whose pages may call the API (CORS); empty: no Access-Control-* header at all.
    cors_origins: tuple[str, ...] = ()
    # Development: the pages offer to get a user token with the admin key (marked as such).
    development: bool = True

    def __post_init__(self) -> None:
        assert self.jwt_secret, "the HTTP layer needs a JWT secret"
        assert self.rate_limit_per_s > 0 and self.rate_limit_burst >= 1
        assert self.max_body_bytes >= 1024 and self.user_token_ttl_s >= 60
        assert self.key_cache_ttl_s >= 0 and self.anchor_interval_s > 0
