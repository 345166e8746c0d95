"""What ``yard privacy scan`` reports: each item of a text or JSONL file scanned, every finding
with its place and a masked value (enough to recognise it, not to use it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from modelyard.privacy.findings import Located
from modelyard.privacy.redact import strings
from modelyard.privacy.scanner import Scanner
from modelyard.privacy.text import JSON

SHOWN = 2
"""Characters of a value shown at each end (values of 8 characters or fewer: none)."""


@dataclass(frozen=True)
class Shown:
    """One finding as reported: kind, where, and the value masked."""

    kind: str
    where: str
    start: int
    end: int
    masked: str


@dataclass(frozen=True)
class ItemReport:
    """One scanned item: a line of a JSONL file, or a whole text file."""

    line: int
    private: bool
    kinds: list[str]
    findings: list[Shown]
    unread: str | None = None
    error: str | None = None


def mask(value: str) -> str:
    """``value`` with all but ``SHOWN`` characters at each end hidden."""
    if len(value) <= 4 * SHOWN:
        return "*" * len(value)
    return value[:SHOWN] + "*" * (len(value) - 2 * SHOWN) + value[-SHOWN:]


def where(path: tuple[Any, ...], key: bool) -> str:
    """A JSON path as people read it: ``messages[0].content`` (``(key)`` for a key)."""
    out = ""
    for step in path:
        if step is JSON:
            out += "<json>"
        elif isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + str(step)
    return (out or "(text)") + (" (key)" if key else "")


def scan_lines(lines: Iterable[str], jsonl: bool, scanner: Scanner) -> list[ItemReport]:
    """Scan a file's lines: each line a request body (``jsonl``), or all of it one text."""
    if not jsonl:
        text = "".join(lines)
        return [_report(1, text, scanner)]
    reports = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            body = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            reports.append(ItemReport(number, True, ["unread"], [], error=f"not JSON: {exc}"))
            continue
        reports.append(_report(number, body, scanner))
    return reports


def _report(number: int, item: Any, scanner: Scanner) -> ItemReport:
    scan = scanner.scan_body(item)
    texts = dict(_texts(item))
    shown = [
        Shown(f.kind, where(f.path, f.key), f.start, f.end, mask(_value(texts, f)))
        for f in scan.findings
    ]
    return ItemReport(number, scan.private, scan.kinds, shown, scan.unread)


def _value(texts: dict[tuple[tuple[Any, ...], bool], str], f: Located) -> str:
    return texts.get((f.path, f.key), "")[f.start : f.end]


def _texts(item: Any) -> Iterable[tuple[tuple[tuple[Any, ...], bool], str]]:
    return strings(item)
