"""Numbers split over messages with words between the parts: "my IBAN starts DE42 8397 7588"
… "and the rest is 5047 5247 59".

Where one string of the body ends with a number and a later one (within ``GAP`` characters,
with no digit between) goes on with one, the two parts are read again as one number, with the
words between taken out. A finding that spans the cut is reported on both parts. (Parts with
only the mark between two strings, "4111 1111" + "1111 1111", are read as one number already.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from modelyard.privacy.findings import Finding
from modelyard.privacy.text import SEPARATOR

HEAD = 60
"""Characters before the cut kept (the words that name the number are there)."""
GAP = 80
TAIL = 40
TRAILING = " .,;:!?)\"'"
DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Cut:
    """The end of one string and the start of a later one, read as one text."""

    text: str
    head_start: int
    """Where the head starts in the joined text (the tail follows a space)."""
    head_len: int
    tail_start: int

    def mapped(self, findings: list[Finding]) -> list[Finding]:
        """Findings that span the cut, each as its two parts in the joined text."""
        out = []
        for f in findings:
            if f.start < self.head_len and f.end > self.head_len + 1:
                out.append(
                    Finding(f.kind, self.head_start + f.start, self.head_start + self.head_len)
                )
                tail_end = self.tail_start + f.end - self.head_len - 1
                out.append(Finding(f.kind, self.tail_start, tail_end))
        return out


def cuts(text: str, limit: int) -> Iterator[Cut]:
    """Every place in ``text[:limit]`` (the message texts) where a number ending one string
    may go on in a later one."""
    at = text.find(SEPARATOR, 0, limit)
    while at >= 0:
        end = at
        while end > 0 and at - end < 3 and text[end - 1] in TRAILING:
            end -= 1
        if end > 0 and text[end - 1].isdigit():
            nxt = DIGIT.search(text, at, min(limit, at + GAP))
            if nxt is not None:
                head = text[max(0, end - HEAD) : end]
                tail = text[nxt.start() : nxt.start() + TAIL]
                yield Cut(head + " " + tail, end - len(head), len(head), nxt.start())
        at = text.find(SEPARATOR, at + 1, limit)
