"""Assets and exact amounts.

Inside the ledger an amount is an ``int`` of the asset's smallest unit. Decimal strings in
whole units exist only at the edge, and only through :func:`parse_amount` and
:func:`format_amount`: "never use floating point in an accounting system".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.errors import InvalidAmount, UnknownAsset

# Amounts are uint256-compatible (the ERC-20 side) and fit NUMERIC(78,0).
MAX_AMOUNT_EXCLUSIVE = 2**255

_AMOUNT_RE = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")


@dataclass(frozen=True, slots=True)
class Asset:
    """A unit of value: ``scale`` decimal places separate a whole unit from the smallest one."""

    code: str
    scale: int


USD = Asset("USD", 2)
AZR = Asset("AZR", 18)
ASSETS: dict[str, Asset] = {a.code: a for a in (USD, AZR)}


def asset(code: str) -> Asset:
    """The asset called ``code``; :class:`UnknownAsset` for any other string."""
    try:
        return ASSETS[code]
    except (KeyError, TypeError):
        raise UnknownAsset(f"unknown asset {code!r}; known: {', '.join(sorted(ASSETS))}") from None


def parse_amount(text: object, of: Asset) -> int:
    """Parse a positive decimal string in whole units into smallest units.

    Accepts exactly ``^(0|[1-9][0-9]*)(\\.[0-9]+)?$`` with at most ``of.scale`` decimals, a
    value above zero and below 2**255 smallest units. Everything else (numbers that are not
    strings, signs, exponents, whitespace, NaN, empty) raises :class:`InvalidAmount`.
    """
    if not isinstance(text, str):
        raise InvalidAmount(f"amount must be a decimal string, got {type(text).__name__}")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"amount {text!r} is not a decimal string like '10' or '9.99'")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > of.scale:
        raise InvalidAmount(
            f"amount {text!r} has {len(fraction)} decimals; {of.code} allows at most {of.scale}"
        )
    # Bound the length before int(): a megabyte of digits must not cost a big-int parse.
    if len(whole) > 80:
        raise InvalidAmount(f"amount {text[:20]}... is too large")
    units = int(whole) * 10**of.scale + int(fraction.ljust(of.scale, "0") or "0")
    return check_units(units, of, shown=text)


def check_units(units: int, of: Asset, *, shown: str | None = None) -> int:
    """Return ``units`` if it is a valid positive amount of ``of``; raise InvalidAmount."""
    if type(units) is not int:
        raise InvalidAmount(f"amount must be an integer of smallest units, got {units!r}")
    label = shown if shown is not None else f"{units} smallest units"
    if units <= 0:
        raise InvalidAmount(f"amount {label!r} must be greater than zero")
    if units >= MAX_AMOUNT_EXCLUSIVE:
        raise InvalidAmount(f"amount {label!r} must be below 2**255 smallest units of {of.code}")
    return units


def format_amount(units: int, of: Asset) -> str:
    """Whole units with the full scale, e.g. ``format_amount(100000, USD) == "1000.00"``.

    Works for any integer, negative balances included.
    """
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**of.scale)
    if of.scale == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{of.scale}d}"
