"""Plans, subscriptions, feature checks and business metrics: request and response shapes.

Prices are USD decimal strings in whole units (``"9.99"``), as every amount in the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictStr

from api.schemas.common import AmountOut, Input
from ledger import USD, format_amount
from monetization.billing import (
    ChangeResult,
    Feature,
    FeatureValue,
    MonthMetrics,
    Plan,
    Subscription,
)
from monetization.billing.metrics import (
    TARGET_CHURN_BELOW,
    TARGET_MRR_CENTS,
    TARGET_PAYING,
    TARGET_SUCCESS,
    Rate,
)

PlanId = Annotated[
    StrictStr, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", max_length=32, examples=["pro"])
]
PaymentMethod = Annotated[
    StrictStr,
    Field(
        pattern=r"^[A-Za-z0-9_]{1,64}$",
        description="A payment method id. Local provider: `pm_card_visa` (succeeds), "
        "`pm_card_chargeDeclined` (402), `pm_card_unavailable` (503).",
        examples=["pm_card_visa"],
    ),
]


def usd(cents: int) -> str:
    return format_amount(cents, USD)


class FeatureDefinition(BaseModel):
    key: str
    name: str
    type: str
    description: str

    @classmethod
    def build(cls, f: Feature) -> FeatureDefinition:
        return cls(key=f.key, name=f.name, type=f.type.value, description=f.description)


class PlanPublic(BaseModel):
    id: str
    name: str
    price: AmountOut
    currency: str
    interval: str
    features: dict[str, bool | int | None] = Field(
        description="Every feature key: a boolean, a limit, or null (unlimited)."
    )

    @classmethod
    def build(cls, p: Plan) -> PlanPublic:
        return cls(
            id=p.id, name=p.name, price=usd(p.price), currency=p.currency,
            interval=p.interval, features=dict(p.features),
        )  # fmt: skip


class PlanList(BaseModel):
    data: list[PlanPublic]
    features: list[FeatureDefinition]


class SubscriptionCreate(Input):
    plan: PlanId
    payment_method: PaymentMethod


class ChargePublic(BaseModel):
    amount: AmountOut
    entry_id: str


class SubscriptionPublic(BaseModel):
    user_id: str
    plan: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    scheduled_plan: str | None

    @classmethod
    def build(cls, s: Subscription) -> SubscriptionPublic:
        return cls(
            user_id=s.user_id,
            plan=s.plan_id,
            status=s.status.value,
            current_period_start=s.current_period_start,
            current_period_end=s.current_period_end,
            cancel_at_period_end=s.cancel_at_period_end,
            scheduled_plan=s.scheduled_plan,
        )


class SubscriptionChanged(SubscriptionPublic):
    charge: ChargePublic | None

    @classmethod
    def from_result(cls, r: ChangeResult) -> SubscriptionChanged:
        charge = None
        if r.amount is not None and r.entry_id is not None:
            charge = ChargePublic(amount=usd(r.amount), entry_id=r.entry_id)
        return cls(**SubscriptionPublic.build(r.subscription).model_dump(), charge=charge)


class FeatureAccessPublic(BaseModel):
    feature: str
    value: FeatureValue
    plan: str


def _rate(rate: Rate) -> str | None:
    return rate.text()


class BusinessMetricsPublic(BaseModel):
    month: str
    mrr: AmountOut
    paying_customers: int
    churn_rate: str | None = Field(description="0.0000-1.0000; null with no customers at start")
    payment_success_rate: str | None = Field(description="null when no charge was attempted")
    marketplace_gross: AmountOut
    subscription_revenue: AmountOut
    customers_at_start: int
    churned_customers: int
    payment_attempts: int
    payments_succeeded: int
    targets: dict[str, str | int]
    targets_met: dict[str, bool]

    @classmethod
    def build(cls, m: MonthMetrics) -> BusinessMetricsPublic:
        return cls(
            month=m.month,
            mrr=usd(m.mrr),
            paying_customers=m.paying_customers,
            churn_rate=_rate(m.churn),
            payment_success_rate=_rate(m.payments),
            marketplace_gross=usd(m.marketplace_gross),
            subscription_revenue=usd(m.subscription_revenue),
            customers_at_start=m.customers_at_start,
            churned_customers=m.churned_customers,
            payment_attempts=m.payments.denominator,
            payments_succeeded=m.payments.numerator,
            targets={
                "mrr": usd(TARGET_MRR_CENTS),
                "paying_customers": TARGET_PAYING,
                "payment_success_rate": Rate(*TARGET_SUCCESS).text() or "",
                "churn_rate_below": Rate(*TARGET_CHURN_BELOW).text() or "",
            },
            targets_met=m.targets_met(),
        )
