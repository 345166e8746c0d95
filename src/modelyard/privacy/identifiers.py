"""National identifiers, tax and bank numbers, payment cards: python-stdnum's validators over
runs of digits and capitals written with any separators.

A *run* is a stretch of alphanumeric groups joined by at most three separator characters
(space, ``.``, ``-``, ``/``, parentheses, the mark between two strings of a body). Within a
run, windows of consecutive groups are checked against every identifier of their length,
longest first. Identifiers whose check digits catch most random numbers (IBAN, cards, Chinese,
Italian, French, Romanian... ids) count on their own; those a random number passes too often
(a US SSN has no check digit; a Dutch BSN passes 1 in 11) count when written in their printed
grouping or named nearby ("SSN", "BSN", "Aadhaar"...). A number right after an order, parcel
or invoice word, or inside arithmetic, is none of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from modelyard.privacy import _re, cues
from modelyard.privacy.findings import Finding
from modelyard.privacy.id_types import IdType, by_length

RUN = _re.compile(
    r"[+(]{0,2}(?:[A-Z]{1,6}[ .\-]{1,2})?[0-9A-Za-z]*[0-9][0-9A-Za-z]*"
    r"(?:[ .\-/()\x1f]{1,3}(?:[0-9A-Za-z]*[0-9][0-9A-Za-z]*|[A-Z]{1,4}\b))*"
)
GROUP = re.compile(r"[0-9A-Za-z]+")
MIN_DIGITS = 6
"""Runs with fewer digits are skipped, unless 8 characters long (an Indian PAN has 4)."""
MAX_GROUPS = 10
LONG_RUN = 64
"""A run of more groups is cut into pieces of this many (overlapping by ``MAX_GROUPS``)."""
MAX_LENGTH = 34
CONTEXT = 40
"""Characters before a number searched for a word that names it (or an order, a parcel...)."""
BUSINESS_CONTEXT = 80
"""Characters before a number searched for a company's legal form or register name."""
OPERATOR = (
    r"(?:[*×÷+=^/]|\bx\b|\b(?:times|plus|minus|divided|multipl\w*|mal|geteilt|fois|"
    r"divisé|por|dividido|per|diviso|vezes|maal|razy|минус|плюс|умнож\w*|раздел\w*)\b|"
    r"乘以|除以|加|减|곱하기|나누기)"
)
OPERAND_BEFORE = re.compile(rf"[\d)]\s*{OPERATOR}\s*(?:\w+\s+)?$")
OPERAND_AFTER = re.compile(rf"\s*{OPERATOR}\s*(?:\w+\s+)?[\d(]")


@dataclass(frozen=True)
class Run:
    """A run of alphanumeric groups in the text: the groups and their positions."""

    start: int
    end: int
    groups: tuple[tuple[str, int, int], ...]

    def digits(self) -> int:
        return sum(c.isdigit() for g, _, _ in self.groups for c in g)


def runs(text: str) -> Iterator[Run]:
    """Every run holding at least ``MIN_DIGITS`` digits; a run of more than ``LONG_RUN`` groups
    comes in overlapping pieces, read as they are needed."""
    for m in _re.hits(RUN, text):
        start, end = m.span()
        piece: list[tuple[str, int, int]] = []
        for g in GROUP.finditer(text, start, end):
            piece.append((g.group(), g.start(), g.end()))
            if len(piece) == LONG_RUN + MAX_GROUPS:
                yield from _kept(piece)
                _re.tick()
                piece = piece[-MAX_GROUPS:]
        if piece:
            yield from _kept(piece)


def _kept(groups: list[tuple[str, int, int]]) -> Iterator[Run]:
    run = Run(groups[0][1], groups[-1][2], tuple(groups))
    digits = run.digits()
    if digits >= MIN_DIGITS or (digits >= 4 and run.end - run.start >= 8):
        yield run


def find(text: str, all_runs: list[Run], tick: Callable[[], None]) -> list[Finding]:
    """Identifiers in ``text``, from its ``runs``; ``tick`` is called for every run (it raises
    when the scan's time is up)."""
    found: list[Finding] = []
    for run in all_runs:
        tick()
        found.extend(_in_run(text, run))
    return found


def _in_run(text: str, run: Run) -> Iterator[Finding]:
    groups = run.groups
    i = 0
    while i < len(groups):
        hit = _longest_at(text, groups, i)
        if hit is None:
            i += 1
            continue
        kind, j = hit
        yield Finding(kind, groups[i][1], groups[j - 1][2])
        i = j


def _longest_at(
    text: str, groups: tuple[tuple[str, int, int], ...], i: int
) -> tuple[str, int] | None:
    """The longest identifier starting at group ``i``: its kind and where it ends. A window
    inside a longer run must begin or end the run's numbers (and, for a weakly checked
    identifier, be all of them): a valid number cut out of a longer one is chance."""
    table = by_length()
    first, last = digit_span(groups)
    compact = ""
    windows = []
    for j in range(i, min(len(groups), i + MAX_GROUPS)):
        compact += groups[j][0]
        if len(compact) > MAX_LENGTH:
            break
        windows.append((compact, j + 1))
    for compact, j in reversed(windows):
        starts, ends = i <= first, j > last
        if not (starts or ends):
            continue
        start, end = groups[i][1], groups[j - 1][2]
        upper = compact.upper()
        valid = [
            t
            for t in table.get(len(compact), ())
            if (t.strong or (starts and ends))
            and t.shaped.fullmatch(upper)
            and _is(t, upper, text[start:end])
        ]
        kind = _named(text, start, end, valid)
        if kind is not None:
            return kind, j
    return None


def digit_span(groups: tuple[tuple[str, int, int], ...]) -> tuple[int, int]:
    """The first and last group of a run that hold a digit (letters-only groups around a
    number are words: "SSN 123-45-6789")."""
    holding = [k for k, (g, _, _) in enumerate(groups) if any(c.isdigit() for c in g)]
    return (holding[0], holding[-1]) if holding else (0, len(groups) - 1)


def _named(text: str, start: int, end: int, valid: list[IdType]) -> str | None:
    """Which of the ``valid`` identifiers the number at text[start:end] is, if any counts:
    one named right before it first, else the first that counts."""
    counting = [t for t in valid if _counts(t, text, start, end)]
    for t in counting:
        if t.names and cues.near_words(t.names, text, start, end, CONTEXT):
            return t.kind
    return counting[0].kind if counting else None


def _is(t: IdType, compact: str, written: str) -> bool:
    try:
        return t.check(written if t.raw else compact)
    except Exception:  # a validator that trips on odd input has not recognised it
        return False


def _counts(t: IdType, text: str, start: int, end: int) -> bool:
    """Whether a valid ``t`` at text[start:end] counts here: not an operand, not an order or
    parcel number; a company's number when named, printed its way or next to a company; and a
    person's id when checked strongly, named (by its own name or an identity word) or in its
    printed grouping (but not where a phone number is announced: a 3-3-4 NHS number is also a
    US phone's), and not by a company's legal form or register name."""
    if arithmetic(text, start, end):
        return False
    own = bool(t.names) and cues.near_words(t.names, text, start, end, CONTEXT)
    printed = t.printed is not None and re.fullmatch(t.printed, text[start:end]) is not None
    business = cues.near("business", text, start, end, BUSINESS_CONTEXT)
    if t.business:
        return own or printed or business
    named = own or _identity_named(text, start)
    if not named and cues.near("reference", text, start, end, CONTEXT // 2):
        return False
    if t.strong:
        return True
    if business and not own:
        return False
    return named or (printed and not cues.near("phone", text, start, end, CONTEXT))


def _identity_named(text: str, start: int) -> bool:
    """Whether an identity word names the number at ``start``, and not as part of a reference
    ("order id", "invoice number": the reference word comes right before)."""
    word = cues.last("identifier", text, start, CONTEXT)
    if word is None:
        return False
    reference = cues.last("reference", text, word[0], CONTEXT // 2)
    return reference is None or word[0] - reference[1] > 2


def arithmetic(text: str, start: int, end: int) -> bool:
    """Whether the number at text[start:end] is an operand: another number and an operator
    (or an arithmetic word) right before or after it."""
    return bool(
        OPERAND_BEFORE.search(text[max(0, start - 16) : start])
        or OPERAND_AFTER.match(text, end, min(len(text), end + 20))
    )
