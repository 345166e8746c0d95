"""Values that the word before them names: passports and identity documents, bank accounts,
licence plates.

These have no check digit to go by (a passport number is a serial, an account number's checks
differ by bank, a plate is letters and digits), so the word decides: a value in the shape of
one, starting within ``WINDOW`` characters after "passport", "Kontonummer", "Kennzeichen",
"身份证"…, counts, whatever its country. A date, or a number right after an order, invoice or
version word, is none of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from modelyard.privacy import _re, cues
from modelyard.privacy.findings import Finding

WINDOW = 24
"""Characters after the naming word within which the value must start."""
SEPARATORS = r"[ .\-/·№#:\x1f]{1,3}"
VALUE = re.compile(rf"(?<![0-9A-Za-z])[0-9A-Z]+(?:{SEPARATORS}[0-9A-Z]+)*(?![0-9A-Za-z])")
"""Groups of digits and capitals with separators between (one way to match a text: no
backtracking beyond the length of a group)."""
GROUPS = re.compile(r"[0-9A-Z]+")
OTHER_NAMES = ("identifier", "business", "reference")
"""Categories whose words, between a naming word and a value, name the value otherwise."""
DATE = re.compile(r"(\d{1,4})[./\-](\d{1,2})[./\-](\d{1,4})")
JP_PLATE = _re.compile(r"\p{Han}{1,4}\s?\d{2,3}\s?\p{Hiragana}\s?\d{1,2}-\d{2}")
"""A Japanese plate: office, class number, kana, serial (``品川 300 さ 12-34``)."""
CN_PLATE = re.compile(r"[\u4e00-\u9fff][A-Z][\s·]?[A-Z0-9]{5,6}")


@dataclass(frozen=True)
class Rule:
    """What a value named by one category's words looks like."""

    kind: str
    accepts: Callable[[str], bool]
    lettered: bool = False
    """Groups of capitals alone may be part of it (a plate's ``M-KL 4821``); else every group
    holds a digit."""


def _compact(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value)


def _digits(value: str) -> int:
    return sum(c.isdigit() for c in value)


def _document(value: str) -> bool:
    """A passport or identity-document number: 6-20 characters, mostly digits (a serial)."""
    compact = _compact(value)
    return 6 <= len(compact) <= 20 and _digits(compact) >= 4


def _account(value: str) -> bool:
    """A bank account or sort code: 6-34 characters, at least six of them digits."""
    compact = _compact(value)
    return 6 <= len(compact) <= 34 and _digits(compact) >= 6


def _after_bank(value: str) -> bool:
    """An account number right after a bank's name: seven digits or more."""
    compact = _compact(value)
    return len(compact) <= 34 and _digits(compact) >= 7


def _plate(value: str) -> bool:
    """A licence plate: 4-10 letters and digits, both present, in at most four groups of at
    most four letters or digits each (a word in capitals is not a plate)."""
    compact = _compact(value)
    groups = re.split(r"[^0-9A-Za-z]+", value.strip())
    return (
        4 <= len(compact) <= 10
        and len(groups) <= 4
        and all(len(g) <= 4 or any(c.isdigit() for c in g) for g in groups)
        and any(c.isdigit() for c in compact)
        and any(c.isalpha() for c in compact)
    )


RULES = {
    "passport": Rule("passport", _document),
    "id_document": Rule("id_number", _document),
    "account": Rule("bank_account", _account),
    "bank": Rule("bank_account", _after_bank),
    "plate": Rule("plate", _plate, lettered=True),
}
CATEGORIES = tuple(RULES)


def find(
    text: str, everywhere: dict[str, list[tuple[int, int]]], tick: Callable[[], None]
) -> list[Finding]:
    """Values named by the words of ``RULES``' categories (found in ``everywhere``, the cues of
    the whole text), and Japanese and Chinese plates, which name themselves."""
    found = []
    for category, rule in RULES.items():
        for _, end in everywhere[category]:
            tick()
            span = _value_after(text, end, rule)
            if span is not None:
                found.append(Finding(rule.kind, *span))
    found += [Finding("plate", *m.span()) for m in _re.hits(JP_PLATE, text)]
    for _, end in everywhere["plate"]:
        m = CN_PLATE.search(text, end, min(len(text), end + WINDOW))
        if m is not None:
            found.append(Finding("plate", *m.span()))
    return found


def _date(value: str) -> bool:
    """A date (day, month and year in some order), not a sort code (``20-45-67``)."""
    m = DATE.fullmatch(value)
    if m is None:
        return False
    a, b, c = (int(g) for g in m.groups())
    return 1 <= b <= 12 and (1 <= a <= 31 or 1 <= c <= 31)


def _renamed(text: str, start: int, end: int) -> bool:
    """Whether a word of another kind of number lies between a naming word and a value
    ("Food Bank, Inc., EIN 12-3456789")."""
    return any(next(cues.find(c, text, start, end), None) for c in OTHER_NAMES)


def _value_after(text: str, end: int, rule: Rule) -> tuple[int, int] | None:
    """The first value ``rule`` accepts that starts within ``WINDOW`` characters after
    ``end``, unless an order, invoice, version… word comes first."""
    hi = min(len(text), end + WINDOW + 40)
    for m in VALUE.finditer(text, end, hi):
        if m.start() > end + WINDOW or _renamed(text, end, m.start()):
            return None
        value = m.group()
        if _date(value) or cues.near("reference", text, m.start(), m.end(), 16):
            continue
        shaped = rule.lettered or all(any(c.isdigit() for c in g) for g in GROUPS.findall(value))
        if shaped and rule.accepts(value):
            return m.span()
    return None
