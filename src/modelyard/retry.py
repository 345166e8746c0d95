"""Retry timing, one policy for every HTTP client in modelyard (the gateway's upstream calls and
`yard eval`'s requests): the server's Retry-After when it sent one, else exponential backoff
with jitter. Which failures are worth a retry stays with each caller."""

from __future__ import annotations

import math
import random
import time
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(
    attempt: int, base_s: float, retry_after: float | None, cap_s: float = math.inf
) -> float:
    """Delay before retry number ``attempt`` (0-based), at most ``cap_s``.

    Retry-After when the server sent one; else ``base_s`` doubled per attempt, times a random
    factor in [0.5, 1.0] so that clients that failed together do not retry together.
    """
    if retry_after is not None:
        return min(retry_after, cap_s)
    return min(base_s * 2**attempt, cap_s) * random.uniform(0.5, 1.0)
