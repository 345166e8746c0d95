"""Numbers as people read them: thousands separators, a fixed number of significant digits,
never scientific notation (62,600 rather than 6.26e+04), and an empty cell for a missing value."""

from __future__ import annotations

import math

MISSING = ""
"""What a missing value (None, NaN) renders as."""


def count(value: float | None) -> str:
    """A whole number with thousands separators: 60,000."""
    if _missing(value):
        return MISSING
    return f"{round(value):,}"  # type: ignore[arg-type]


def fixed(value: float | None, decimals: int = 2) -> str:
    """A number with ``decimals`` decimals and thousands separators: 1,234.50."""
    if _missing(value):
        return MISSING
    return f"{value:,.{decimals}f}"


def sig(value: float | None, digits: int = 3) -> str:
    """``digits`` significant digits without scientific notation: 62,600, 0.00123, 1.50.

    Whole digits are never dropped (123,456 stays 123,456); trailing zeros of the decimals are
    kept so a column of figures lines up.
    """
    if _missing(value):
        return MISSING
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))  # type: ignore[arg-type]
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def usd(value: float | None) -> str:
    """Dollars: cents above $1 ($1,234.56), three significant digits below ($0.00123)."""
    if _missing(value):
        return MISSING
    sign = "-" if value < 0 else ""  # type: ignore[operator]
    amount = abs(value)  # type: ignore[arg-type]
    return f"{sign}${fixed(amount) if amount >= 1 else sig(amount)}"


def percent(share: float | None, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: 0.123 -> 12.3%."""
    if _missing(share):
        return MISSING
    return f"{share * 100:.{decimals}f}%"  # type: ignore[operator]


def p_value(p: float | None) -> str:
    """A p-value to four decimals, with very small ones as an upper bound: <0.0001."""
    if _missing(p):
        return MISSING
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"  # type: ignore[operator]


def tick(value: float, step: float) -> str:
    """An axis tick label with as many decimals as the tick step needs: 0.25 (step 0.05),
    62,500 (step 2,500), 1.5M (step 500,000)."""
    if abs(value) >= 1e6 and step >= 1e5:
        return f"{sig(value / 1e6, 3).rstrip('0').rstrip('.')}M"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if step > 0 and not math.isclose(step * 10**decimals % 1, 0, abs_tol=1e-6):
        decimals += 1  # a step like 2.5 needs one more decimal than its magnitude says
    text = f"{value:,.{decimals}f}"
    return "0" if text.lstrip("-").strip("0.,") == "" else text


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
