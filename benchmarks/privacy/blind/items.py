"""One corpus item before its placeholders are filled: what it says and where it sits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    label: str  # "private" or "lookalike"
    kind: str
    lang: str
    text: str | None
    field: str = "user"
    system: str | None = None
    tool: str | None = None
    args: str | None = None
    result: str | None = None
    user: str | None = None
    metadata: str | None = None
    turns: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    history: tuple[str, ...] = ()


def _item(label: str, kind: str, lang: str, text: str | None, **where: object) -> Item:
    for key in ("turns", "parts", "history"):
        if key in where:
            where[key] = tuple(where[key])  # type: ignore[arg-type]
    return Item(label, kind, lang, text, **where)  # type: ignore[arg-type]


def P(kind: str, lang: str, text: str | None, **where: object) -> Item:
    return _item("private", kind, lang, text, **where)


def L(kind: str, lang: str, text: str | None, **where: object) -> Item:
    return _item("lookalike", kind, lang, text, **where)
