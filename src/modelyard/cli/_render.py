"""Shared rendering: Rich tables for people, JSON with stable field names for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""

# piped output is read in files and pagers, not an 80-column terminal
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


def to_jsonable(obj: Any) -> Any:
    """Pydantic models and dataclasses to plain JSON types."""
    from pydantic import BaseModel  # loaded already wherever a model is printed

    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", exclude_none=False)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(obj, k)) for k in obj.__dataclass_fields__}
    return obj


def print_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to stdout."""
    json.dump(to_jsonable(obj), sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    right: Iterable[str] = (),
) -> Table:
    """A Rich table; columns named in ``right`` are right-aligned (numbers)."""
    numeric = set(right)
    t = Table(title=title, title_justify="left", header_style="bold")
    for col in columns:
        t.add_column(col, justify="right" if col in numeric else "left", overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


def human_count(n: float | None) -> str:
    """8.03e9 -> '8.03B', 1.2e12 -> '1.20T'."""
    if n is None:
        return ""
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}" if n / size < 100 else f"{n / size:.0f}{unit}"
    return f"{n:g}"


def human_tokens(n: int | None) -> str:
    """131072 -> '128k', 10485760 -> '10M' (binary units, as contexts are published)."""
    if not n:
        return ""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}k"
    return f"{n:,}"
