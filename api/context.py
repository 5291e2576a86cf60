"""Everything the routes need, built once per process by the composition root.

The app keeps one :class:`ApiContext` in ``app.state.api``; routers reach it through the
``Annotated`` dependencies of :mod:`api.deps`, never by building services themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from api.config import ApiConfig
from api.keystore import KeyStore
from api.limits import Limiter
from api.metrics import ServiceMetrics
from api.sse import StreamSlots
from chain.checkpoints import Checkpoints
from chain.proofs import Proofs
from chain.runtime import ChainRuntime
from ledger import Ledger
from monetization.billing import Billing
from monetization.licensing import Licensing
from monetization.marketplace import Marketplace
from monetization.rewards import Rewards
from monetization.webhooks import Webhooks


class Lifecycle(Protocol):
    """Started when the app starts serving, stopped when it stops (background work)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ApiContext:
    config: ApiConfig
    ledger: Ledger
    keys: KeyStore
    limiter: Limiter
    rewards: Rewards
    billing: Billing
    marketplace: Marketplace
    licensing: Licensing
    proofs: Proofs
    chain: ChainRuntime | None = None  # None: anchoring is off
    checkpoints: Checkpoints | None = None  # None: no signed checkpoints nor receipts
    webhooks: Webhooks | None = None  # None: no webhooks (their routes answer 404)
    event_streams: StreamSlots = field(default_factory=lambda: StreamSlots(100))
    metrics: ServiceMetrics | None = None  # None: this process's counters are not served
