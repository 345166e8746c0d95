"""Axis ranges and tick positions at round values (1, 2, 2.5 or 5 times a power of ten), so an
axis reads 0, 25, 50, 75 rather than 29.9, 59.8, 89.7."""

from __future__ import annotations

import math
from dataclasses import dataclass

NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Ticks:
    """An axis: its range (from the first tick to the last) and the tick values."""

    lo: float
    hi: float
    step: float
    values: tuple[float, ...]


def nice_step(span: float, target: int) -> float:
    """The round step that cuts ``span`` into about ``target`` intervals."""
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(s * power for s in NICE_STEPS if s * power >= raw * (1 - 1e-9))


def ticks(lo: float, hi: float, target: int = 5, *, zero: bool = False) -> Ticks:
    """Round ticks covering ``[lo, hi]``.

    Args:
        lo: The smallest value to show.
        hi: The largest value to show.
        target: About how many intervals.
        zero: Start the axis at zero when every value is positive (bars, counts, latencies).
    """
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"axis range must be finite, got {lo}..{hi}")
    if hi <= lo:  # one value: a range around it
        pad = abs(hi) * 0.5 or 1.0
        lo, hi = (lo if zero and lo == 0 else lo - pad), hi + pad
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    count = round((last - first) / step)
    values = tuple(_clean(first + i * step, step) for i in range(count + 1))
    return Ticks(values[0], values[-1], step, values)


def _clean(value: float, step: float) -> float:
    """``value`` without float noise (0.30000000000000004 -> 0.3)."""
    digits = max(0, -math.floor(math.log10(step)) + 2)
    return round(value, digits) + 0.0
