"""Request ids: a ULID per request, echoed in x-request-id (middleware/errors.py) and used as its
ledger row id."""

from __future__ import annotations

import random
import time

from modelyard.serve.types import Scope

SCOPE_KEY = "yard.request_id"
HEADER = b"x-request-id"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIRS = [a + b for a in CROCKFORD for b in CROCKFORD]
"""Two base-32 digits for each 10-bit value."""
SHIFTS = range(120, -1, -10)
"""A ULID's 26 digits are 130 bits (the top two zero): 13 pairs, most significant first."""


def request_id(scope: Scope) -> str:
    """The id the middleware gave this request."""
    return scope.get(SCOPE_KEY, "")


def new_id() -> str:
    """A ULID from the clock and 80 bits of non-cryptographic randomness, in about 2 µs.

    An id has to be unique, not secret: ``str(ULID())`` reads os.urandom (a system call) and
    encodes in pure Python, 15-25 µs per request on a busy core.
    """
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    return "".join([PAIRS[(value >> shift) & 1023] for shift in SHIFTS])
