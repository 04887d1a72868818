"""Money is exact: Decimal quantised to cents, never float inside the domain."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str | float) -> Decimal:
    """Convert an amount at the edge (JSON floats included) to an exact two-place Decimal."""
    if isinstance(value, float):
        # repr() gives the shortest string that round-trips, so 47.84 stays 47.84.
        value = repr(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money_sum(amounts: list[Decimal]) -> Decimal:
    return sum(amounts, ZERO).quantize(CENT)


# The sign before the amount for the currencies whose readers expect it; every other currency
# is written with its ISO code after the amount, which no reader mistakes.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_money(value: Decimal, currency: str) -> str:
    """An amount as a reader sees it: "$1,234.50", "-$12.40", or "1,234.50 CHF"."""
    amount = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"
