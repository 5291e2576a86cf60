"""Feature access: which plan a user is on, and what a feature's value is for them.

Other modules call :meth:`FeatureAccess.feature` (e.g. the marketplace, before an
instructor publishes a paid course: ``feature(user, "paid_course_publishing")``) or
:meth:`plan_of`. Answers come from a per-process cache kept up to ``ttl_s`` (5 minutes),
invalidated at once by :mod:`monetization.billing.invalidation` on PostgreSQL; on SQLite
every check reads the plan. A past-due subscription keeps its plan during its grace period.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from monetization.billing.invalidation import PlanChangeListener
from monetization.billing.model import check_user_id
from monetization.billing.plans import Feature, FeatureValue, Plan, PlanCatalog
from monetization.billing.store import SubscriptionStore

CACHE_MAX_USERS = 200_000


class PlanCache:
    """user id -> (plan id, expiry). A generation counter makes an insert that raced with
    an invalidation a no-op, so a stale plan read before a change is never cached after it."""

    def __init__(self, ttl_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._now = monotonic
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.generation = 0
        self.enabled = True

    def get(self, user_id: str) -> str | None:
        if not self.enabled:
            return None
        found = self._entries.get(user_id)
        if found is None or found[1] <= self._now():
            return None
        return found[0]

    def put(self, user_id: str, plan_id: str, generation: int) -> None:
        with self._lock:
            if not self.enabled or generation != self.generation:
                return
            if len(self._entries) >= CACHE_MAX_USERS:
                self._entries.clear()
            self._entries[user_id] = (plan_id, self._now() + self.ttl_s)

    def forget(self, user_ids: list[str]) -> None:
        with self._lock:
            self.generation += 1
            for user_id in user_ids:
                self._entries.pop(user_id, None)

    def reset(self, *, enabled: bool) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self.enabled = enabled


class FeatureAccess:
    def __init__(self, store: SubscriptionStore, catalog: PlanCatalog, ttl_s: float) -> None:
        self.store = store
        self.catalog = catalog
        self.cache = PlanCache(ttl_s)
        self.listener: PlanChangeListener | None = None
        if store.engine.dialect.name == "postgresql" and ttl_s > 0:
            self.cache.reset(enabled=False)  # until the listener is up
            self.listener = PlanChangeListener(store.engine, self.cache.forget, self._reset)
        else:
            self.cache.reset(enabled=False)  # SQLite: read per check

    def _reset(self) -> None:
        listening = self.listener is not None and self.listener.listening
        self.cache.reset(enabled=listening)

    def plan_of(self, user_id: str) -> Plan:
        cached = self.cache.get(user_id)
        if cached is not None:
            return self.catalog.plan(cached)
        check_user_id(user_id)
        generation = self.cache.generation
        plan_id = self.store.get(user_id).plan_id
        self.cache.put(user_id, plan_id, generation)
        return self.catalog.plan(plan_id)

    def feature(self, user_id: str, key: str) -> FeatureValue:
        """The value of feature ``key`` for ``user_id``: a bool, a limit, or None
        (unlimited). Unknown feature: :class:`UnknownFeature`."""
        return self.lookup(user_id, key)[1]

    def lookup(self, user_id: str, key: str) -> tuple[Feature, FeatureValue, Plan]:
        feature = self.catalog.feature(key)
        plan = self.plan_of(user_id)
        return feature, plan.features[feature.key], plan

    def allows(self, user_id: str, key: str, used: int = 0) -> bool:
        """A boolean feature is on, or a limit is not reached by ``used``."""
        value = self.feature(user_id, key)
        if isinstance(value, bool):
            return value
        return value is None or used < value

    def forget(self, user_ids: list[str]) -> None:
        self.cache.forget(user_ids)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
