"""Text as the detectors read it: one normalised string per request, with a map back to the
strings of the body it came from.

Normalisation maps one character to one character, so a position in the normalised text is a
position in the original: full-width and other decimal digits become ASCII digits, Unicode
spaces become a space, dashes a hyphen-minus, zero-width characters a space.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

DIGIT_BLOCKS = (
    0x0660,
    0x06F0,
    0x07C0,
    0x0966,
    0x09E6,
    0x0A66,
    0x0AE6,
    0x0B66,
    0x0BE6,
    0x0C66,
    0x0CE6,
    0x0D66,
    0x0E50,
    0x0ED0,
    0x0F20,
    0x1040,
    0x17E0,
    0x1810,
    0xFF10,
)
"""First code point of each block of ten decimal digits mapped to 0-9."""
SPACES = "\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000\t"
HIDDEN = "\x00"
"""What zero-width characters become: the text without them is scanned too (encoded.py)."""
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
DOTS = "\u00b7\u2024\u2027\uff0e\u30fb"


def _table() -> dict[int, int]:
    table = {first + i: ord("0") + i for first in DIGIT_BLOCKS for i in range(10)}
    table.update({c: c - 0xFF01 + 0x21 for c in range(0xFF01, 0xFF5F)})  # full-width ASCII
    table.update({ord(c): ord(" ") for c in SPACES})
    table.update({ord(c): ord(HIDDEN) for c in ZERO_WIDTH})
    table.update({ord(c): ord("-") for c in DASHES})
    table.update({ord(c): ord(".") for c in DOTS})
    return table


TABLE = _table()
SEPARATOR = "\x1f"
"""Between two strings of a body in the joined text: the number patterns accept it between two
groups of digits (a value split over two messages still reads as one), others do not."""


MAPPED = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(TABLE)) + "]")


def normalize(text: str) -> str:
    """``text`` with look-alike characters mapped to ASCII, one character for one (only the
    characters to map are visited: ``str.translate`` costs 0.14 µs for every character)."""
    if text.isascii():
        return text
    return MAPPED.sub(lambda m: chr(TABLE[ord(m.group())]), text)


Path = tuple[Any, ...]
"""Keys and indexes from the body's root; ``JSON`` steps into a string holding JSON."""


@dataclass(frozen=True)
class Piece:
    """One string of a body and where it starts in the joined text."""

    path: Path
    start: int
    text: str
    key: bool = False


@dataclass(frozen=True)
class Document:
    """Every string of a request body, joined in body order, with the map back."""

    pieces: tuple[Piece, ...]
    text: str
    """The joined, normalised text the detectors read."""
    unread: str | None = None
    """A part the scanner cannot read (inline binary data), or None."""

    def locate(self, start: int, end: int) -> Iterator[tuple[Piece, int, int]]:
        """The pieces a span of the joined text covers, with the span in each piece."""
        starts = [p.start for p in self.pieces]
        i = max(0, bisect.bisect_right(starts, start) - 1)
        while i < len(self.pieces) and self.pieces[i].start < end:
            piece = self.pieces[i]
            lo, hi = max(start, piece.start), min(end, piece.start + len(piece.text))
            if lo < hi:
                yield piece, lo - piece.start, hi - piece.start
            i += 1


PRIMARY_ROOTS = ("messages", "prompt", "input")
SKIPPED_LEAVES = ("role", "type", "id", "tool_call_id")
"""Message fields that are not text a user wrote; still scanned, but not joined with the text."""


def document(body: Any) -> Document:
    """The joined text of every string (and number, and object key) at any depth of ``body``.

    Message texts come first and in order, so a value split over two messages reads as one;
    every other string follows.
    """
    leaves = list(_leaves(body))
    unread = [why for path, value in leaves if (why := _unread(path, value)) is not None]
    primary = [(p, t, k) for p, t, k in _texts(leaves) if _primary(p, k)]
    rest = [(p, t, k) for p, t, k in _texts(leaves) if not _primary(p, k)]
    pieces, offset = [], 0
    for path, text, key in primary + rest:
        pieces.append(Piece(path, offset, text, key))
        offset += len(text) + len(SEPARATOR)
    text = normalize(SEPARATOR.join(p.text for p in pieces))
    return Document(tuple(pieces), text, "; ".join(unread) or None)


def _leaves(body: Any) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every key, string and number, depth first in body order; an object
    key comes as a ``_Key`` just before its value, with the same path."""
    stack: list[tuple[Path, Any]] = [((), body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            items = list(value.items())
            for k, v in reversed(items):
                stack.append(((*path, k), v))
                stack.append(((*path, k), _Key(k)))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))
        elif (
            isinstance(value, str)
            and not isinstance(value, _Key)
            and (inner := json_container(value))
        ):
            stack.append(((*path, JSON), inner))
        else:
            yield path, value


class _Key(str):
    """An object key, as a leaf of its own."""


class JsonText:
    """A path step into a string that holds a JSON object or array (tool-call arguments):
    its strings are read as strings of the body, so escaped characters are read decoded."""

    def __repr__(self) -> str:
        return "<json>"


JSON = JsonText()


def json_container(text: str) -> dict[str, Any] | list[Any] | None:
    """The object or array a string holds as JSON (tool-call arguments), else None."""
    if text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict | list) and value else None


def _texts(leaves: list[tuple[Path, Any]]) -> Iterator[tuple[Path, str, bool]]:
    for path, value in leaves:
        if isinstance(value, _Key):
            yield path, str(value), True
        elif isinstance(value, str):
            yield path, value, False
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield path, repr(value), False


def _primary(path: Path, key: bool) -> bool:
    return (
        not key
        and bool(path)
        and path[0] in PRIMARY_ROOTS
        and not (isinstance(path[-1], str) and path[-1] in SKIPPED_LEAVES)
    )


def _unread(path: Path, value: Any) -> str | None:
    """Why ``value`` cannot be read: a data URL (an inline image, audio or file). Other base64
    that decodes to binary is caught where encoded text is decoded (privacy/encoded.py)."""
    if isinstance(value, str) and not isinstance(value, _Key) and value.startswith("data:"):
        head = value[:128]
        if ";base64," in head and not head.startswith("data:text/"):
            return f"inline {head[5 : head.find(';')] or 'data'} at {_dotted(path)}"
    return None


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(root)"
