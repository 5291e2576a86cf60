"""Everything the routes need, built once per process by the composition root.

The app keeps one :class:`ApiContext` in ``app.state.api``; routers reach it through the
``Annotated`` dependencies of :mod:`api.deps`, never by building services themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from api.config import ApiConfig
from api.keystore import KeyStore
from api.limits import RateLimiter
from ledger import Ledger
from ledger.proofs import Proofs
from monetization.billing import Billing
from monetization.rewards import Rewards


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """What /readyz says about the chain side."""

    enabled: bool
    ok: bool
    detail: str


class Lifecycle(Protocol):
    """Started when the app starts serving, stopped when it stops (background work)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _chain_disabled() -> ChainStatus:
    return ChainStatus(enabled=False, ok=True, detail="disabled")


@dataclass(frozen=True, slots=True)
class ApiContext:
    config: ApiConfig
    ledger: Ledger
    keys: KeyStore
    limiter: RateLimiter
    rewards: Rewards
    billing: Billing
    proofs: Proofs
    chain_status: Callable[[], ChainStatus] = field(default=_chain_disabled)
