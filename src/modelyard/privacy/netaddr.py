"""IP addresses that tie a connection to a person.

A public (globally routed, by Python's ``ipaddress``) IPv4 or IPv6 address counts when an IP
word is next to it and a person is spoken of around it ("my home IP", "her apartment's IP",
"l'IP de la box de son père"). Private ranges (10.x, 192.168.x), documentation ranges
(203.0.113.0/24, 2001:db8::/32), addresses in a server's configuration, and version numbers
shaped like addresses are not private.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from modelyard.privacy import _re, cues
from modelyard.privacy.findings import Finding

IPV4 = _re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
IPV6 = _re.compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}")
NEAR = 40
"""Characters each side of an address searched for an IP word."""
AROUND = 160
"""Characters each side searched for words about a person."""
PERSON = ("self", "relation", "someone")


def find(text: str, tick: Callable[[], None]) -> list[Finding]:
    found = []
    for m in [*_re.hits(IPV4, text), *_re.hits(IPV6, text)]:
        tick()
        start, end = m.span()
        if _global(m.group()) and _personal(text, start, end):
            found.append(Finding("ip_address", start, end))
    return found


def _global(written: str) -> bool:
    try:
        return ipaddress.ip_address(written).is_global
    except ValueError:
        return False


def _personal(text: str, start: int, end: int) -> bool:
    if not cues.near("ip", text, start, end, NEAR, NEAR):
        return False
    if cues.near("reference", text, start, end, NEAR // 2):
        return False  # "version 10.2.0.4", "build 19.21.0.0"
    lo, hi = max(0, start - AROUND), min(len(text), end + AROUND)
    return any(next(cues.find(c, text, lo, hi), None) for c in PERSON)
