"""Credentials: API keys by their issuers' prefixes, private keys, JSON web tokens, passwords in
URLs, in ``key = value`` and ``.env`` lines and in prose, and long random-looking tokens.

A value that is plainly a placeholder (``<your-key>``, ``${TOKEN}``, ``os.environ[...]``,
``xxxx``) is not a secret. A long token counts as random when it mixes upper case, lower case
and digits with at least ``ENTROPY_BITS`` bits per character and is not a hash (hex), a UUID or
base64 of readable text (which is decoded and scanned instead).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from modelyard.privacy import _re
from modelyard.privacy.encoded import readable_base64
from modelyard.privacy.findings import Finding

ENTROPY_BITS = 4.0
API_KEY = _re.compile(
    r"\b(?:sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_\-]{20,}|sk_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|rk_live_[A-Za-z0-9]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|AIza[0-9A-Za-z_\-]{35}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_\-]{50,}"
    r"|SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})"
)
PRIVATE_KEY = _re.compile(
    r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z]+ )*"
    r"PRIVATE KEY(?: BLOCK)?-----|$)"
)
JWT = _re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")
URL_PASSWORD = _re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@]{1,64}:([^\s@/]{1,128})@")
ASSIGNED = _re.compile(
    r"(?i)[A-Za-z0-9_.\-]{0,40}(?:password|passwd|pwd|passphrase|secret|token|api[_\-]?key|apikey"
    r"|access[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?|auth)[A-Za-z0-9_]{0,20}"
    r"[\"']?[ \t]*[:=][ \t]*[\"']?([^\s\"',;]{4,200})"
)
TOKEN = _re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
HEX = re.compile(r"[0-9a-fA-F]+")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PLACEHOLDER = re.compile(
    r"^(?:[$<{%\[(]|\*{3,}|x{3,}|\.{3}|os\.|process\.env|getenv|env\(|none$|null$|true$|false$"
    r"|your[_\-]|my[_\-]|example|placeholder|changeme$|redacted|<)",
    re.IGNORECASE,
)
VALUE = re.compile(r"[\x21-\x7e\u00c0-\u024f]{6,64}")
"""A password as written: ASCII and Latin letters, digits and symbols (it stops at CJK text)."""
SENTENCE_END = re.compile(r"[.!?。！？]\s|\n")
WINDOW = 48
"""Characters after a password word searched for the password."""


def find(
    text: str, password_cues: list[tuple[int, int]], tick: Callable[[], None]
) -> list[Finding]:
    """Credentials in ``text``; ``password_cues``: where password words are; ``tick`` is
    called as the work goes on (it raises when the scan's time is up)."""
    found = [Finding("api_key", *m.span()) for m in _re.hits(API_KEY, text)]
    found += [Finding("private_key", *m.span()) for m in _re.hits(PRIVATE_KEY, text)]
    found += [Finding("jwt", *m.span()) for m in _re.hits(JWT, text)]
    found += [Finding("password", *m.span(1)) for m in _re.hits(URL_PASSWORD, text)]
    for m in _re.hits(ASSIGNED, text):
        if not PLACEHOLDER.match(m.group(1)):
            found.append(Finding("secret" if "pass" not in m.group().lower() else "password",
                                 *m.span(1)))  # fmt: skip
    tick()
    found += _prose_passwords(text, password_cues, tick)
    found += [Finding("secret", *m.span()) for m in _re.hits(TOKEN, text) if _random(m.group())]
    return found


def _prose_passwords(
    text: str, spans: list[tuple[int, int]], tick: Callable[[], None]
) -> list[Finding]:
    """The first password-like word after a password word, in the same sentence ("my wifi
    password is X", "das Passwort für den Router lautet X", "密码是X")."""
    found = []
    for _, end in spans:
        tick()
        stop = min(len(text), end + WINDOW)
        m_end = SENTENCE_END.search(text, end, stop)
        stop = m_end.start() if m_end else stop
        for m in VALUE.finditer(text, end, stop):
            value = m.group().rstrip(".,;:?)'\"")
            if _looks_like_password(value) and not PLACEHOLDER.match(value):
                found.append(Finding("password", m.start(), m.start() + len(value)))
                break
    return found


def _looks_like_password(value: str) -> bool:
    """Digits or symbols with letters, or mixed case: not an ordinary word."""
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    symbols = any(not c.isalnum() for c in value)
    mixed = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return len(value) >= 6 and ((letters and (digits or symbols)) or mixed)


def _random(token: str) -> bool:
    """A long token that looks random: mixed case and digits, high entropy, not hex/UUID."""
    if HEX.fullmatch(token) or UUID.fullmatch(token) or readable_base64(token) is not None:
        return False
    if not (any(c.isdigit() for c in token) and any(c.isupper() for c in token)
            and any(c.islower() for c in token)):  # fmt: skip
        return False
    counts = Counter(token)
    bits = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return bits >= ENTROPY_BITS
