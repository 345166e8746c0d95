"""Detector for private data in prompts, so flagged requests stay on self-hosted backends.

Finds e-mail addresses, phone numbers, IBANs (ISO 13616 mod-97 check), payment card numbers
(Luhn check), national ids (US SSN with its reserved ranges, French INSEE/NIR with its mod-97
key, German Steuer-ID with its ISO 7064 MOD 11,10 check digit) and secrets (OpenAI ``sk-…``,
AWS ``AKIA…``, GitHub ``ghp_…`` and similar prefixes, PEM private keys, long high-entropy
tokens). Checksums cut false positives: a 16-digit order number that fails Luhn is not a card.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

ENTROPY_BITS = 4.0
"""Shannon entropy per character above which a long mixed token is taken for a secret."""


@dataclass(frozen=True)
class Finding:
    """One piece of private data: its kind and where it is in the text."""

    kind: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only) is valid."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    raw = re.sub(r"\s", "", text).upper()
    if not 15 <= len(raw) <= 34:
        return False
    moved = raw[4:] + raw[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ssn_ok(text: str) -> bool:
    """US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    area, group, serial = text.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def insee_ok(text: str) -> bool:
    """French NIR: key = 97 − (number mod 97); Corsica's 2A/2B count as 19/18."""
    raw = re.sub(r"\s", "", text).upper().replace("2A", "19", 1).replace("2B", "18", 1)
    if not raw.isdigit() or len(raw) != 15:
        return False
    return 97 - int(raw[:13]) % 97 == int(raw[13:])


def steuer_id_ok(text: str) -> bool:
    """German tax id (11 digits, no leading 0): ISO 7064 MOD 11,10 check digit."""
    raw = re.sub(r"\s", "", text)
    if len(raw) != 11 or raw[0] == "0":
        return False
    product = 10
    for ch in raw[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    return (11 - product) % 10 == int(raw[10])


def high_entropy(token: str) -> bool:
    """A long token mixing letters and digits whose characters look random."""
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    counts = Counter(token)
    bits = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return bits >= ENTROPY_BITS


def phone_ok(text: str) -> bool:
    """9 to 15 digits (E.164 allows 15); shorter runs are dates, prices or counts."""
    return 9 <= sum(c.isdigit() for c in text) <= 15


def _always(_: str) -> bool:
    return True


def _digits(check: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda text: check(re.sub(r"\D", "", text))


PATTERNS: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"), _always),
    (
        "private_key",
        re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
        _always,
    ),
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}"
            r"|github_pat_[A-Za-z0-9_]{40,}|xox[abpr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}"
            r"|hf_[A-Za-z0-9]{30,})"
        ),
        _always,
    ),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), iban_ok),
    ("card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), _digits(luhn_ok)),
    ("us_ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), ssn_ok),
    (
        "fr_insee",
        re.compile(
            r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b"
        ),
        insee_ok,
    ),
    ("de_steuer_id", re.compile(r"\b[1-9]\d(?: ?\d{3}){3}\b"), steuer_id_ok),
    (
        "phone",
        re.compile(
            r"(?<![\w+])(?<!\d[ .-])"
            r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,5}"
            r"|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|0\d{1,4}(?:[ .-]\d{2,4}){2,4}"
            r"|\d{3}[.-]\d{3}[.-]\d{4})\b"
        ),
        phone_ok,
    ),
    ("secret", re.compile(r"\b[A-Za-z0-9_+/=-]{32,}\b"), high_entropy),
]
"""(kind, pattern, check) in priority order; a span an earlier kind claimed is skipped."""


def find_private(text: str) -> list[Finding]:
    """Every piece of private data in ``text``, first match per span wins."""
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern, check in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken) or not check(match.group()):
                continue
            findings.append(Finding(kind, start, end))
            taken.append((start, end))
    return sorted(findings, key=lambda f: f.start)


def private_kinds(text: str) -> list[str]:
    """The distinct kinds of private data in ``text``, sorted (empty when none)."""
    return sorted({f.kind for f in find_private(text)})
