"""Redaction and restoration: private values become typed placeholders (``<EMAIL_1>``) in the
body that leaves, and the placeholders in the answer become the values again.

``redact`` builds a new body (the caller's is not touched): each string with findings is
rewritten, a JSON string (tool-call arguments) is parsed, rewritten inside and serialised
again, a number holding a finding becomes its placeholder. The same value gets the same
placeholder everywhere in a request. ``Restorer`` puts the values back into a whole answer
(``restore_json``) or into a stream, where a placeholder may arrive cut between two chunks
(``Restorer.stream``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from modelyard.privacy.findings import Scan
from modelyard.privacy.text import JSON, json_container

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")
LONGEST = 40
"""No placeholder is longer: a stream holds back at most this many characters."""
Edit = tuple[int, int, str]


@dataclass(frozen=True)
class Edits:
    """Where placeholders go: per path, (start, end, placeholder) in the string there."""

    values: dict[tuple[Any, ...], list[Edit]]
    keys: dict[tuple[Any, ...], list[Edit]]
    originals: dict[tuple[tuple[Any, ...], bool], str]
    """The string each edit was made for: a string changed since (the gateway rewrites
    ``model``) is left as it now is."""

    def touched(self) -> set[tuple[Any, ...]]:
        return {p[:i] for p in [*self.values, *self.keys] for i in range(len(p) + 1)}


@dataclass(frozen=True)
class Redacted:
    """The redacted body, how it was made, and the placeholder -> value table for the answer."""

    body: Any
    values: dict[str, str]
    edits: Edits

    def apply(self, body: Any) -> Any:
        """The same placeholders put into ``body``: the request as the gateway finally sends
        it (model name and options set since the scan)."""
        return _rebuild(body, (), self.edits, self.edits.touched())

    def restorer(self) -> Restorer:
        return Restorer(self.values)


def redact(body: Any, scan: Scan) -> Redacted:
    """``body`` with every finding of ``scan`` replaced by its placeholder."""
    names = _Names(_taken(body))
    edits = Edits({}, {}, {})
    texts = dict(strings(body))
    for f in sorted(scan.findings, key=lambda f: (str(f.path), f.start)):
        source = texts.get((f.path, f.key))
        if source is None:
            continue
        edits.originals[(f.path, f.key)] = source
        target = edits.keys if f.key else edits.values
        target.setdefault(f.path, []).append(
            (f.start, f.end, names.of(f.kind, source[f.start : f.end]))
        )
    return Redacted(_rebuild(body, (), edits, edits.touched()), names.values, edits)


class _Names:
    """Placeholders handed out in one request, skipping any the body already contains."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self.by_value: dict[tuple[str, str], str] = {}
        self.values: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def of(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.by_value:
            label = re.sub(r"[^A-Z0-9]+", "_", kind.upper()).strip("_") or "PRIVATE"
            while True:
                self.counts[label] = self.counts.get(label, 0) + 1
                name = f"<{label}_{self.counts[label]}>"
                if name not in self.taken:
                    break
            self.by_value[key] = name
            self.values[name] = value
        return self.by_value[key]


def _taken(body: Any) -> set[str]:
    """Placeholders the body already holds (a user may quote one): never handed out."""
    return {m.group() for (_, _), text in strings(body) for m in PLACEHOLDER.finditer(text)}


def strings(
    value: Any, path: tuple[Any, ...] = ()
) -> Iterable[tuple[tuple[tuple[Any, ...], bool], str]]:
    """((path, is_key), text) of every string, key and number, as ``text.document`` reads them."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield ((*path, k), True), k
            yield from strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, (*path, i))
    elif isinstance(value, str):
        inner = json_container(value)
        if inner is not None:
            yield from strings(inner, (*path, JSON))
        else:
            yield (path, False), value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield (path, False), repr(value)


def _apply(text: str, edits: list[Edit] | None, original: str | None) -> str:
    if not edits or text != original:
        return text
    out, at = [], 0
    for start, end, name in sorted(edits):
        if start < at:
            continue
        out.append(text[at:start])
        out.append(name)
        at = end
    out.append(text[at:])
    return "".join(out)


def _rebuild(value: Any, path: tuple[Any, ...], edits: Edits, touched: set[tuple[Any, ...]]) -> Any:
    if path not in touched:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            at = (*path, k)
            key = (
                _apply(k, edits.keys.get(at), edits.originals.get((at, True)))
                if isinstance(k, str)
                else k
            )
            out[key] = _rebuild(v, at, edits, touched)
        return out
    if isinstance(value, list):
        return [_rebuild(v, (*path, i), edits, touched) for i, v in enumerate(value)]
    if isinstance(value, str):
        inner = json_container(value)
        if inner is not None:
            return orjson.dumps(_rebuild(inner, (*path, JSON), edits, touched)).decode()
        return _apply(value, edits.values.get(path), edits.originals.get((path, False)))
    if isinstance(value, int | float) and not isinstance(value, bool) and path in edits.values:
        return _apply(repr(value), edits.values[path], edits.originals.get((path, False)))
    return value


@dataclass
class Restorer:
    """Puts original values back in place of placeholders, in whole answers and in streams."""

    values: dict[str, str]
    held: dict[tuple[Any, ...], str] = field(default_factory=dict)
    """Per stream field (choice, field): text held back because it may begin a placeholder."""

    def text(self, text: str) -> str:
        """``text`` with every known placeholder replaced by its value."""
        if "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(), m.group()), text)

    def restore_json(self, value: Any) -> Any:
        """A copy of a parsed JSON answer with the values back in every string (JSON strings
        such as tool-call arguments are parsed, restored and serialised again)."""
        if isinstance(value, dict):
            return {k: self.restore_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore_json(v) for v in value]
        if isinstance(value, str) and "<" in value:
            inner = json_container(value)
            if inner is not None:
                return orjson.dumps(self.restore_json(inner)).decode()
            return self.text(value)
        return value

    def stream(self, where: tuple[Any, ...], text: str) -> str:
        """The part of a streamed ``text`` (one field of one choice, ``where``) that can go
        out now, values restored; a tail that may be the start of a placeholder is held back
        until the next piece of the same field."""
        text = self.held.pop(where, "") + text
        cut = _safe_end(text)
        if cut < len(text):
            self.held[where] = text[cut:]
        return self.text(text[:cut])

    def flush(self) -> dict[tuple[Any, ...], str]:
        """Everything still held back, per field (the stream has ended)."""
        held, self.held = self.held, {}
        return {where: self.text(text) for where, text in held.items()}


def _safe_end(text: str) -> int:
    """Where the part of ``text`` that cannot be the start of a placeholder ends."""
    at = text.rfind("<", max(0, len(text) - LONGEST))
    if at < 0:
        return len(text)
    tail = text[at:]
    if ">" in tail or not re.fullmatch(r"<[A-Z0-9_]*", tail):
        return len(text)
    return at
