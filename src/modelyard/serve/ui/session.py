"""Dashboard sessions: a signed cookie instead of the admin key in the browser.

Logging in with the admin key gets a cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over
HTTPS) holding an expiry time and a random nonce, signed with HMAC-SHA256 under a key derived
from the admin key. Nothing is stored: every worker and replica with the same admin key accepts
the same sessions, and changing the admin key ends them all. Each session has a CSRF token
derived from its nonce, which every change (any method but GET) must send in ``X-CSRF-Token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

COOKIE = "yard_session"
LIFETIME_S = 12 * 3600
CSRF_HEADER = "x-csrf-token"
DERIVATION = b"modelyard dashboard session v1"
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Session:
    """A valid session: its nonce, expiry and the CSRF token changes must carry."""

    nonce: str
    expires: int
    csrf: str

    @property
    def expires_utc(self) -> str:
        return datetime.fromtimestamp(self.expires, UTC).isoformat(timespec="seconds")


class Sessions:
    """Issues and checks session tokens for one admin key.

    Args:
        admin_key: The gateway's admin key.
        lifetime_s: How long a session lasts.
        clock: Unix time.
    """

    def __init__(
        self,
        admin_key: str,
        lifetime_s: int = LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = hmac.new(admin_key.encode(), DERIVATION, hashlib.sha256).digest()
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self) -> tuple[str, Session]:
        """A new session and the cookie value that carries it."""
        expires = int(self._clock()) + self.lifetime_s
        nonce = secrets.token_urlsafe(18)
        body = f"{expires}.{nonce}"
        return f"{body}.{self._sign(body)}", self._session(nonce, expires)

    def read(self, token: str | None) -> Session | None:
        """The session a cookie value carries, or None (absent, forged, malformed, expired)."""
        if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
            return None
        expires, nonce, mac = token.split(".")
        if not hmac.compare_digest(mac.encode(), self._sign(f"{expires}.{nonce}").encode()):
            return None
        if not expires.isdigit() or int(expires) <= self._clock():
            return None
        return self._session(nonce, int(expires))

    def csrf_ok(self, session: Session, header: str | None) -> bool:
        """Whether ``header`` is this session's CSRF token."""
        return header is not None and hmac.compare_digest(header.encode(), session.csrf.encode())

    def _session(self, nonce: str, expires: int) -> Session:
        return Session(nonce, expires, self._sign(f"csrf.{nonce}"))

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def set_cookie(token: str, max_age: int, secure: bool) -> str:
    """The ``Set-Cookie`` value for a session (``max_age`` 0 ends it)."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={token}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{flags}"
