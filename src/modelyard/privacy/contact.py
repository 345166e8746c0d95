"""E-mail addresses, also written out ("jane dot doe at gmail dot com", "jane[at]x[dot]de").

Addresses at domains reserved for examples and tests (RFC 2606 and RFC 6761: example.com,
.example, .test, .invalid, .localhost) and role mailboxes of organisations (support@, info@,
noreply@ …) belong to no one in particular: they are reported as ``public_email``, which does
not make a request private.
"""

from __future__ import annotations

from modelyard.privacy import _re
from modelyard.privacy.findings import Finding

EMAIL = _re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}"
)
DOT = r"(?:\s*(?:\[dot\]|\(dot\)|\{dot\})\s*|\s+dot\s+|\s+punkt\s+|\s+point\s+|\s+punto\s+)"
AT = r"(?:\s*(?:\[at\]|\(at\)|\{at\}|\[@\]|\(@\))\s*|\s+at\s+|\s+chez\s+)"
SPELLED = _re.compile(
    rf"(?i)[A-Za-z0-9_%+\-]{{1,64}}(?:{DOT}[A-Za-z0-9_%+\-]{{1,64}}){{0,4}}{AT}"
    rf"[A-Za-z0-9\-]{{1,63}}(?:{DOT}[A-Za-z0-9\-]{{1,63}}){{0,3}}(?:{DOT}|\.)"
    r"(?:com|net|org|edu|gov|io|co|uk|de|fr|es|it|nl|pl|se|ru|cn|jp|kr|br|pt|ch|at|be|in|me|info)\b"
)
PUBLIC_EMAIL = "public_email"
RESERVED = ("example.com", "example.org", "example.net", "example.edu")
RESERVED_TLDS = ("example", "test", "invalid", "localhost", "local")
ROLES = frozenset(
    {
        "support",
        "info",
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
        "sales",
        "contact",
        "help",
        "press",
        "abuse",
        "postmaster",
        "webmaster",
        "hostmaster",
        "security",
        "privacy",
        "legal",
        "service",
        "hello",
        "team",
        "office",
        "feedback",
        "jobs",
        "careers",
        "billing",
        "newsletter",
        "marketing",
    }
)


def find(text: str) -> list[Finding]:
    """E-mail addresses: ``email``, or ``public_email`` for example, test and role addresses
    (they do not make a request private, but a redacted request masks them too)."""
    found = [
        Finding("email" if _personal(m.group()) else PUBLIC_EMAIL, *m.span())
        for m in _re.hits(EMAIL, text)
    ]
    taken = [(f.start, f.end) for f in found]
    for m in _re.hits(SPELLED, text):
        start, end = m.span()
        if "@" not in m.group() and not any(start < e and s < end for s, e in taken):
            found.append(Finding("email", start, end))
    return found


def _personal(address: str) -> bool:
    local, _, domain = address.lower().rpartition("@")
    if domain in RESERVED or domain.endswith(tuple("." + d for d in RESERVED)):
        return False
    if domain.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return False
    return local not in ROLES
