"""Text hidden in encodings: base64, hex, URL-encoding, and digits spelled out as words.

Each encoded segment above a small length is decoded; readable text (valid UTF-8, mostly
printable) is scanned like any other text, and what is found there is reported over the whole
encoded segment. Base64 that decodes to a large binary blob cannot be read (an image, a file):
the request then counts as private.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from dataclasses import dataclass

from modelyard.privacy import _re
from modelyard.privacy.text import HIDDEN

BASE64 = _re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_\-]{16,}={0,2}")
HEXES = _re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")
PERCENT = _re.compile(r"[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*){2,}")
HIDDEN_GAP = 8
"""Zero-width characters at most this far apart belong to one stretch."""
HIDDEN_REACH = 24
PRINTABLE = 0.9
"""Share of printable characters above which decoded bytes are read as text."""
BINARY_UNREAD = 256
"""Base64 of at least this many characters that decodes to binary makes the request unread."""
NUMBER_WORDS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "null": 0,
    "eins": 1,
    "zwei": 2,
    "zwo": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zéro": 0,
    "un": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "cero": 0,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "sei": 6,
    "sette": 7,
    "otto": 8,
    "nove": 9,
    "um": 1,
    "dois": 2,
    "três": 3,
    "quatro": 4,
    "sete": 7,
    "oito": 8,
    "nul": 0,
    "een": 1,
    "twee": 2,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "negen": 9,
}
SPELLED = _re.compile(
    r"(?i)(?:\b(?:"
    + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    + r")\b[\s,\-]{1,3}){6,}"
    r"\b(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b"
)


@dataclass(frozen=True)
class Decoded:
    """A segment of the text and the text it decodes to."""

    start: int
    end: int
    text: str
    how: str


def readable(data: bytes) -> str | None:
    """``data`` as text when it is UTF-8 and mostly printable, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    if text.isprintable():
        return text
    printable = sum(c.isprintable() or c in "\n\r\t" for c in text)
    return text if printable >= PRINTABLE * len(text) else None


def readable_base64(token: str) -> str | None:
    """The text ``token`` encodes in base64 (standard or URL-safe), if it is readable."""
    raw = _b64(token)
    return readable(raw) if raw else None


def _b64(token: str) -> bytes | None:
    padded = token.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hidden(text: str) -> list[Decoded]:
    """Stretches of a line holding zero-width characters, read without them: "4\u200b1\u200b1…"
    (each stretch reaches ``HIDDEN_REACH`` characters beyond its first and last one)."""
    found: list[Decoded] = []
    at = text.find(HIDDEN)
    while at >= 0:
        start = max(text.rfind("\n", 0, at) + 1, at - HIDDEN_REACH)
        end = last = at
        while (nxt := text.find(HIDDEN, last + 1, last + 1 + HIDDEN_GAP)) >= 0:
            last = nxt
        line_end = text.find("\n", last)
        end = min(last + HIDDEN_REACH, len(text) if line_end < 0 else line_end)
        found.append(Decoded(start, end, text[start:end].replace(HIDDEN, ""), "hidden"))
        at = text.find(HIDDEN, end)
    return found


def segments(text: str) -> tuple[list[Decoded], str | None]:
    """Encoded segments of ``text`` that decode to readable text, and why a segment could not
    be read (binary base64 of ``BINARY_UNREAD`` characters or more), or None."""
    found: list[Decoded] = []
    unread = None
    for m in _re.hits(BASE64, text):
        token = m.group()
        if token.isdigit() or token.isalpha():
            continue
        raw = _b64(token)
        decoded = readable(raw) if raw else None
        if decoded is not None:
            found.append(Decoded(*m.span(), decoded, "base64"))
        elif raw and len(token) >= BINARY_UNREAD:
            unread = f"{len(token)} characters of base64 that decode to binary data"
    for m in _re.hits(HEXES, text):
        decoded = readable(bytes.fromhex(m.group()))
        if decoded is not None:
            found.append(Decoded(*m.span(), decoded, "hex"))
    for m in _re.hits(PERCENT, text):
        decoded = urllib.parse.unquote_plus(m.group())
        if decoded != m.group():
            found.append(Decoded(*m.span(), decoded, "url"))
    found += _hidden(text)
    for m in _re.hits(SPELLED, text):
        words = m.group().lower().replace(",", " ").replace("-", " ").split()
        found.append(Decoded(*m.span(), "".join(str(NUMBER_WORDS[w]) for w in words), "spelled"))
    return found, unread
