"""The scan of one request: every detector over the joined text of its body, within a budget.

Every pattern runs on RE2 (linear time, no backtracking); the Python work after a pattern is
proportional to its candidates. A scan that runs past its budget stops and reports the request
as not fully read, which makes it private: it fails closed.
"""

from __future__ import annotations

import bisect
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phonenumbers.phonemetadata import PhoneMetadata

from modelyard.privacy import _re, contact, cues, encoded, identifiers, personal, phones, secrets
from modelyard.privacy.findings import Finding, Located, Scan
from modelyard.privacy.text import Document, document, normalize

PRIORITY = ("private_key", "api_key", "jwt", "password", "secret", "email", "iban", "card")
"""Kinds that win an overlap, in this order; any other kind comes after them."""
DEPTH = 2
"""Encodings decoded inside encodings (base64 of URL-encoded text...)."""
CONTEXT = 60
"""Characters of the surrounding text kept around spelled-out digits when they are scanned."""


WARM_UP = (
    "Meu nome é Ana Souza, nasci em 30/01/1995, moro na Rua das Flores 120. I'm Ann Lee, "
    "born 1 March 1990, 4 Elm Street; my SSN is 123-45-6789, card 4111 1111 1111 1111, "
    "IBAN DE89 3704 0044 0532 0130 00, ann@mail.com, call 0171 2345678 or +33 6 12 34 56 78. "
    "我叫李明，手机13812345678。パスワードはSakura#2023です。My son has epilepsy. "
    "password: Hunter2!x, token=Zx9Qw2Er7Ty1Ui8Op3As6Df0Gh4Jk5Lz SGVsbG8gd29ybGQgaGVsbG8= "
    "%41%42 48656c6c6f20776f726c64 four one five five five two six seven one "
    "身份证 11010519491231002X BE68 5390 0754 7034 4\u200b1\u200b1\u200b1 1111 1111 1111"
)
"""Text that runs every detector once: patterns compile and tables load outside a budget."""


class OverBudget(Exception):
    """The scan's time ran out."""


@dataclass(frozen=True)
class Budget:
    """How much CPU time a scan may take: ``base_ms`` plus ``per_mb_ms`` for each MB of text.

    CPU time of the scanning thread, not wall time: a busy machine that makes a scan wait does
    not make it fail, and the work a hostile body can cost is what is bounded."""

    base_ms: float = 25.0
    per_mb_ms: float = 25.0

    def seconds(self, chars: int) -> float:
        return (self.base_ms + self.per_mb_ms * chars / 1e6) / 1000


class Clock:
    """The CPU-time deadline of one scan; ``check`` raises ``OverBudget`` once it has passed."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.thread_time() + seconds

    def check(self) -> None:
        if time.thread_time() > self.deadline:
            raise OverBudget


Extra = Callable[[str, list[Finding]], list[Finding]]
"""A further detector (the NER model): the text and what was found so far in, findings out."""


class Scanner:
    """Finds private data in request bodies and texts."""

    def __init__(self, budget: Budget | None = None, extra: Extra | None = None) -> None:
        self.budget = budget or Budget()
        self.extra = extra
        _warm()

    def scan_body(self, body: Any) -> Scan:
        """Scan every string, number and key at any depth of a JSON request body."""
        started = time.perf_counter()
        doc = document(body)
        return self._scan(doc, started)

    def scan_text(self, text: str) -> Scan:
        """Scan one text (positions in the findings are positions in ``text``)."""
        started = time.perf_counter()
        return self._scan(document(text), started)

    def _scan(self, doc: Document, started: float) -> Scan:
        clock = Clock(self.budget.seconds(len(doc.text)))
        unread = doc.unread
        try:
            findings, binary = self.find(doc.text, clock)
        except OverBudget:
            findings, binary = [], None
            unread = _join(
                unread,
                f"scan budget of {self.budget.seconds(len(doc.text)) * 1000:.0f} ms exceeded",
            )
        unread = _join(unread, binary)
        located = tuple(
            Located(f.kind, piece.path, lo, hi, piece.key)
            for f in findings
            for piece, lo, hi in doc.locate(f.start, f.end)
        )
        elapsed = (time.perf_counter() - started) * 1000
        return Scan(located, unread, round(elapsed, 3), len(doc.text))

    def find(self, text: str, clock: Clock, depth: int = 0) -> tuple[list[Finding], str | None]:
        """Findings in ``text`` (normalised), merged so that no two overlap; and why part of
        it cannot be read (binary data), or None."""
        with _re.budgeted(clock.check):
            return self._find(text, clock, depth)

    def _find(self, text: str, clock: Clock, depth: int) -> tuple[list[Finding], str | None]:
        everywhere = cues.anywhere(text)
        clock.check()
        runs = list(identifiers.runs(text))
        found = secrets.find(text, everywhere["password"], clock.check) + contact.find(text)
        clock.check()
        found += identifiers.find(text, runs, clock.check)
        found += phones.find(text, runs, found, clock.check)
        found += personal.find(text, everywhere, clock.check)
        clock.check()
        if self.extra is not None:
            started = time.thread_time()
            found += self.extra(text, found)  # bounded by its own window cap, not the budget
            clock.deadline += time.thread_time() - started
        decoded, unread = ([], None) if depth > DEPTH else self._decoded(text, clock, depth)
        return merge(found + decoded), unread

    def _decoded(self, text: str, clock: Clock, depth: int) -> tuple[list[Finding], str | None]:
        segments, unread = encoded.segments(text)
        found = []
        for seg in segments:
            clock.check()
            inner, inner_unread = self._inner(text, seg, clock, depth)
            unread = unread or inner_unread
            found += [Finding(f.kind, seg.start, seg.end) for f in inner]
        return found, unread

    def _inner(
        self, text: str, seg: encoded.Decoded, clock: Clock, depth: int
    ) -> tuple[list[Finding], str | None]:
        if seg.how != "spelled":
            return self.find(normalize(seg.text), clock, depth + 1)
        head = text[max(0, seg.start - CONTEXT) : seg.start] + " "
        inner, unread = self.find(
            head + seg.text + " " + text[seg.end : seg.end + CONTEXT], clock, depth + 1
        )
        lo, hi = len(head), len(head) + len(seg.text)
        return [f for f in inner if f.start < hi and lo < f.end], unread


@functools.cache
def _warm() -> None:
    """Compile every pattern and load every table once, outside any scan's budget."""
    PhoneMetadata.load_all()  # else each country's metadata loads on its first number
    bare = object.__new__(Scanner)  # without __init__, which calls this
    bare.budget, bare.extra = Budget(1e6), None
    bare.find(normalize(WARM_UP), Clock(1e6))


def merge(findings: list[Finding]) -> list[Finding]:
    """No two findings overlap: the higher-priority kind, then the longer span, wins."""
    rank = {kind: i for i, kind in enumerate(PRIORITY)}
    ordered = sorted(findings, key=lambda f: (rank.get(f.kind, len(rank)), f.start - f.end))
    starts: list[int] = []
    kept: list[Finding] = []
    for f in ordered:
        i = bisect.bisect_left(starts, f.start)
        if (i > 0 and kept[i - 1].end > f.start) or (i < len(kept) and kept[i].start < f.end):
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


def _join(a: str | None, b: str | None) -> str | None:
    return "; ".join(x for x in (a, b) if x) or None
