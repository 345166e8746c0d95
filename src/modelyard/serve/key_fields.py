"""A virtual key's settings as an operator gives them: budget periods, edits to a key, and the
checks every new or edited key passes."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Literal

from modelyard.errors import YardError
from modelyard.privacy import MODES, Mode

if TYPE_CHECKING:
    from modelyard.serve.keys import KeyInfo

Period = Literal["daily", "monthly"]
PERIODS: tuple[Period, ...] = ("daily", "monthly")


def period_of(kind: Period | None, when: float) -> str:
    """The budget period ``when`` (epoch seconds) falls in."""
    if kind is None:
        return ""
    day = time.gmtime(when)
    if kind == "daily":
        return f"{day.tm_year:04d}-{day.tm_mon:02d}-{day.tm_mday:02d}"
    return f"{day.tm_year:04d}-{day.tm_mon:02d}"


def period_start(period: str) -> str:
    """The first ``datetime_utc`` of a period, to compare ledger rows with ("" for ever)."""
    if not period:
        return ""
    return (period if len(period) == 10 else period + "-01") + "T00:00:00"


class Keep:
    """The value of a ``KeyEdit`` field that leaves the key's setting as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


@dataclass(frozen=True)
class KeyEdit:
    """Changes to a key: each field a new value (None clears a limit, a budget, its period or
    the model list) or ``KEEP``."""

    name: str | Keep = KEEP
    models: tuple[str, ...] | Keep | None = KEEP
    budget_usd: float | Keep | None = KEEP
    budget_period: Period | Keep | None = KEEP
    rpm: int | Keep | None = KEEP
    tpm: int | Keep | None = KEEP
    private: bool | Keep = KEEP
    private_data: Mode | Keep | None = KEEP

    def apply(self, info: KeyInfo, when: str) -> KeyInfo:
        """``info`` with these changes, edited at ``when``."""
        changed = {f.name: getattr(self, f.name) for f in fields(self)}
        kept = {name: value for name, value in changed.items() if value is not KEEP}
        return replace(info, **kept, updated_utc=when)


def check_key_fields(info: KeyInfo) -> None:
    """Refuse a new or edited key whose settings are out of range.

    Raises:
        YardError: the first field out of range, named.
    """
    name, models, budget_usd, period = info.name, info.models, info.budget_usd, info.budget_period
    if not name or not name.strip():
        raise YardError("key name: must not be empty; e.g. `yard keys create team-search`")
    if info.private_data is not None and info.private_data not in MODES:
        raise YardError(f"private_data: {info.private_data!r}: one of {', '.join(MODES)}")
    if models is not None and (not models or not all(isinstance(m, str) and m for m in models)):
        shown = list(models)
        raise YardError(f"models: {shown!r}: give one or more model names (globs like 'openai/*')")
    if budget_usd is not None and budget_usd < 0:
        raise YardError(f"budget_usd: {budget_usd}: must be 0 or more (USD)")
    if period is not None and period not in PERIODS:
        raise YardError(f"budget_period: {period!r}: daily, monthly, or unset (lifetime)")
    if period is not None and budget_usd is None:
        raise YardError("budget_period: needs a budget_usd to apply to")
    for field, value in (("rpm", info.rpm), ("tpm", info.tpm)):
        if value is not None and value < 1:
            raise YardError(f"{field}: {value}: must be a positive whole number per minute")
