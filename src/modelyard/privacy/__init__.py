"""Private data in requests: find it, and keep it from leaving (redact it, put it back).

Python API::

    scan = Scanner().scan_body(request_body)     # every string at any depth, decoded forms too
    pool = ScanPool(2); await pool.start()       # worker processes, for large bodies
    scan = await pool.scan(body, Budget())       # the same verdict, off this process
    scan.private, scan.kinds, scan.reason()      # kinds and positions only, never values
    redacted = redact(request_body, scan)        # a new body with <EMAIL_1>, <IBAN_1>, ...
    answer = redacted.restorer().restore_json(upstream_answer)

``yard privacy scan`` is a thin CLI over ``Scanner`` and ``scan_lines``; the gateway calls the
scanner once per request (serve/private_data.py).
"""

from __future__ import annotations

from typing import Literal, get_args

from modelyard.privacy.findings import Finding, Located, Scan
from modelyard.privacy.ner import detector as ner_detector
from modelyard.privacy.redact import Redacted, Restorer, redact
from modelyard.privacy.report import scan_lines
from modelyard.privacy.scanner import Budget, Scanner
from modelyard.privacy.text import document as body_document
from modelyard.privacy.workers import ScanPool

Mode = Literal["local", "redact", "block"]
"""What the gateway does with a private request: self-hosted backends only, placeholders
before any remote backend, or refuse it."""
MODES: tuple[Mode, ...] = get_args(Mode)
STRICTNESS: dict[Mode, int] = {"redact": 0, "local": 1, "block": 2}
"""The strictest mode set for a request wins (key, model, gateway)."""


def private_kinds(text: str) -> list[str]:
    """The kinds of private data in ``text`` (empty when none)."""
    return Scanner().scan_text(text).kinds


__all__ = [
    "MODES",
    "STRICTNESS",
    "Budget",
    "Finding",
    "Located",
    "Mode",
    "Redacted",
    "Restorer",
    "Scan",
    "ScanPool",
    "Scanner",
    "body_document",
    "ner_detector",
    "private_kinds",
    "redact",
    "scan_lines",
]
