"""Amount parsing and formatting: the one door between decimal strings and integers."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidAmount, UnknownAsset
from ledger.money import AZR, MAX_AMOUNT_EXCLUSIVE, USD, Asset, asset, format_amount, parse_amount

REJECTED = [
    "",
    " 1",
    "1 ",
    "\t1",
    "+1",
    "-1",
    "0",
    "0.0",
    "0.00",
    "00",
    "01",
    "1.",
    ".5",
    "1e3",
    "1E3",
    "1.5e1",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1,000",
    "1_000",
    "0x10",
    "1.001",  # three decimals on USD
    "\u0661",  # Arabic-Indic digit one: not [0-9]
    "1\n",
]


@pytest.mark.parametrize("text", REJECTED)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text, USD)


@pytest.mark.parametrize("value", [1, 1.5, None, Decimal("1"), b"1", ["1"], True])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(InvalidAmount, match="decimal string"):
        parse_amount(value, USD)


def test_bound_is_two_to_the_255_smallest_units() -> None:
    largest = MAX_AMOUNT_EXCLUSIVE - 1
    assert parse_amount(str(largest), Asset("X", 0)) == largest
    with pytest.raises(InvalidAmount, match="2\\*\\*255"):
        parse_amount(str(MAX_AMOUNT_EXCLUSIVE), Asset("X", 0))
    whole, frac = divmod(MAX_AMOUNT_EXCLUSIVE, 10**18)
    with pytest.raises(InvalidAmount):
        parse_amount(f"{whole}.{frac:018d}", AZR)


def test_huge_digit_strings_are_refused_cheaply() -> None:
    with pytest.raises(InvalidAmount, match="too large"):
        parse_amount("9" * 100_000, AZR)


def test_scale_is_per_asset() -> None:
    assert parse_amount("9.99", USD) == 999
    assert parse_amount("10.5", AZR) == 105 * 10**17
    assert parse_amount("0.000000000000000001", AZR) == 1
    with pytest.raises(InvalidAmount, match="at most 2"):
        parse_amount("0.001", USD)


def test_format_gives_full_scale() -> None:
    assert format_amount(100000, USD) == "1000.00"
    assert format_amount(5, USD) == "0.05"
    assert format_amount(-5, USD) == "-0.05"
    assert format_amount(10**18, AZR) == "1." + "0" * 18
    assert format_amount(0, USD) == "0.00"


def test_unknown_asset() -> None:
    with pytest.raises(UnknownAsset):
        asset("EUR")
    assert asset("USD") is USD


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_EXCLUSIVE - 1), st.sampled_from([USD, AZR]))
def test_format_then_parse_is_identity(units: int, of: Asset) -> None:
    assert parse_amount(format_amount(units, of), of) == units


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e30"), places=2))
def test_parse_agrees_with_decimal(value: Decimal) -> None:
    text = format(value, "f")
    with localcontext(Context(prec=100)):
        expected = int(value * 100)
    assert parse_amount(text, USD) == expected
