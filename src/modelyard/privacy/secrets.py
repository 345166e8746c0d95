"""Credentials: API keys by their issuers' prefixes, private keys, JSON web tokens, passwords in
URLs, in ``key = value`` and ``.env`` lines and in prose, and long random-looking tokens.

A value that is plainly a placeholder (``<your-key>``, ``${TOKEN}``, ``os.environ[...]``,
``xxxx``) is not a secret. A long token counts as random when it mixes upper case, lower case
and digits with high entropy for its length and is not a hash (hex), a UUID, base64 of readable
text (decoded and scanned instead) or made of words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from modelyard.privacy import _re
from modelyard.privacy.encoded import readable_base64
from modelyard.privacy.findings import Finding

ENTROPY_SHARE = 0.85
"""A random token's entropy per character reaches this share of the most its length allows
(log2 of its length, up to 64 symbols): 32 random base62 characters give about 4.6 bits of
the 5 possible, a 32-character CamelCase name about 4.1."""
PARTS = re.compile(r"[/_\-.+=]+")
WORDISH = re.compile(
    r"[A-Z]?[a-z]+(?:[A-Z][a-z]+)*\d*|[a-z0-9]+|[A-Z0-9]+|\d+[a-z]*|[A-Z][a-z]+\d+[A-Za-z]*"
)
"""A part of a token that is a word, a CamelCase name, a constant or a number."""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_]*(?:[.(\[][\w.()\[\]'\"]*)?")
CODE = re.compile(r"[(){}\[\]<>;=`\"'/\\]|::|->")
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
    r"[\"']?[ \t]*[:=][ \t]*[\"'`]?(?:(?i:bearer|basic|token)[ \t]+)?([^\s\"'`,;]{4,200})"
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
        if not PLACEHOLDER.match(m.group(1)) and not _reference(m.group(1)):
            found.append(
                Finding("secret" if "pass" not in m.group().lower() else "password", *m.span(1))
            )
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
    for start, end in spans:
        tick()
        if _in_code(text, start, end):
            continue  # ``s_password = newPassword``: ASSIGNED reads assignments
        stop = min(len(text), end + WINDOW)
        m_end = SENTENCE_END.search(text, end, stop)
        stop = m_end.start() if m_end else stop
        for m in VALUE.finditer(text, end, stop):
            value = m.group().rstrip(".,;:?)'\"")
            if _looks_like_password(value) and not PLACEHOLDER.match(value):
                found.append(Finding("password", m.start(), m.start() + len(value)))
                break
    return found


def _in_code(text: str, start: int, end: int) -> bool:
    """A password word that is part of a name in code (``s_password``, ``cfg.password``) or
    is assigned to (``password = …``)."""
    glued = (start > 0 and text[start - 1] in "_.") or (end < len(text) and text[end] in "_.(")
    after = text[end : end + 4].lstrip()
    return glued or (after.startswith(("=", ":=")) and not after.startswith("=="))


def _reference(value: str) -> bool:
    """A name, not a literal: ``password = newPassword`` in code (letters only, or a dotted or
    called name)."""
    return bool(IDENTIFIER.fullmatch(value))


def _looks_like_password(value: str) -> bool:
    """Digits or symbols with letters, or mixed case: not an ordinary word, nor code."""
    if CODE.search(value):
        return False
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    symbols = any(not c.isalnum() for c in value)
    mixed = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return len(value) >= 6 and ((letters and (digits or symbols)) or mixed)


def _random(token: str) -> bool:
    """A long token that looks random: mixed case and digits, high entropy for its length,
    not hex, a UUID, base64 of text, nor made of words (a path, a CamelCase name)."""
    if HEX.fullmatch(token) or UUID.fullmatch(token) or readable_base64(token) is not None:
        return False
    if not (
        any(c.isdigit() for c in token)
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
    ):
        return False
    if all(WORDISH.fullmatch(part) for part in PARTS.split(token) if part):
        return False
    counts = Counter(token)
    bits = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return bits >= ENTROPY_SHARE * math.log2(min(len(token), 64))
