"""The revenue split of a sale: pure arithmetic on integer cents (DESIGN §12).

The instructor's share follows their plan at the time of sale (``enterprise`` 75/25, every
other plan 70/30): ``instructor_share = round_half_even(price x pct)``; the platform takes
the remainder, so the two always add up to the price exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

PERCENT = 100
ENTERPRISE = "enterprise"
INSTRUCTOR_PCT_BY_PLAN = {ENTERPRISE: 75}
DEFAULT_INSTRUCTOR_PCT = 70


def round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, ties to even.

    Precondition: ``numerator >= 0`` and ``denominator > 0`` (exact: no float involved).
    """
    assert numerator >= 0 and denominator > 0, (numerator, denominator)
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


@dataclass(frozen=True, slots=True)
class Split:
    price: int
    plan: str
    instructor_pct: int
    instructor_share: int
    platform_share: int

    @property
    def label(self) -> str:
        return f"{self.instructor_pct}/{PERCENT - self.instructor_pct}"


def instructor_pct(plan: str) -> int:
    return INSTRUCTOR_PCT_BY_PLAN.get(plan, DEFAULT_INSTRUCTOR_PCT)


def split_price(price: int, plan: str) -> Split:
    """The split of ``price`` cents for an instructor on ``plan``."""
    assert type(price) is int and price >= 0, price
    pct = instructor_pct(plan)
    instructor = round_half_even(price * pct, PERCENT)
    platform = price - instructor
    assert 0 <= instructor <= price and instructor + platform == price
    return Split(price, plan, pct, instructor, platform)
