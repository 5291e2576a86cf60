"""Plans and features: data seeded by migration ``0010_billing``, read once per process.

A feature's value on a plan is a boolean (``type == "boolean"``) or a limit
(``type == "limit"``: an integer, ``None`` for unlimited). Every plan carries every feature.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Engine, select

from monetization.billing.errors import UnknownFeature, UnknownPlan
from monetization.billing.tables import billing_features, billing_plan_features, billing_plans

FREE = "free"
FeatureValue = bool | int | None


class FeatureType(StrEnum):
    BOOLEAN = "boolean"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    name: str
    type: FeatureType
    description: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    name: str
    price: int  # cents per interval
    currency: str
    interval: str
    rank: int  # upgrades go up in rank, downgrades down
    features: Mapping[str, FeatureValue] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        return self.price > 0


class PlanCatalog:
    """The plans with their features, loaded on first use (they change only by migration)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._plans: dict[str, Plan] | None = None
        self._features: dict[str, Feature] = {}

    def _load(self) -> dict[str, Plan]:
        plans = self._plans
        if plans is not None:
            return plans
        with self._lock:
            if self._plans is None:
                self._plans, self._features = _read(self._engine)
            return self._plans

    def plans(self) -> list[Plan]:
        """Every active plan, cheapest first."""
        return sorted(self._load().values(), key=lambda p: p.rank)

    def plan(self, plan_id: str) -> Plan:
        found = self._load().get(plan_id)
        if found is None:
            known = ", ".join(p.id for p in self.plans())
            raise UnknownPlan(f"unknown plan {plan_id!r}; known: {known}")
        return found

    def features(self) -> list[Feature]:
        self._load()
        return list(self._features.values())

    def feature(self, key: str) -> Feature:
        self._load()
        found = self._features.get(key)
        if found is None:
            raise UnknownFeature(f"unknown feature {key!r}")
        return found

    def most_expensive(self) -> Plan:
        return max(self._load().values(), key=lambda p: p.price)


def _read(engine: Engine) -> tuple[dict[str, Plan], dict[str, Feature]]:
    with engine.connect() as conn:
        feature_rows = conn.execute(
            select(billing_features).order_by(billing_features.c.position)
        ).all()
        value_rows = conn.execute(select(billing_plan_features)).all()
        plan_rows = conn.execute(
            select(billing_plans).where(billing_plans.c.active).order_by(billing_plans.c.rank)
        ).all()
    features = {
        r.key: Feature(r.key, r.name, FeatureType(r.type), r.description) for r in feature_rows
    }
    values: dict[str, dict[str, FeatureValue]] = {}
    for r in value_rows:
        kind = features[r.feature_key].type
        value: FeatureValue = bool(r.enabled) if kind is FeatureType.BOOLEAN else r.limit_value
        values.setdefault(r.plan_id, {})[r.feature_key] = value
    plans = {
        r.id: Plan(
            r.id,
            r.name,
            int(r.price_cents),
            r.currency,
            r.interval,
            int(r.rank),
            {key: values.get(r.id, {}).get(key) for key in features},
        )
        for r in plan_rows
    }
    return plans, features
