"""One retry timing policy for the gateway and yard eval."""

from __future__ import annotations

import random

from modelyard.eval import client
from modelyard.retry import backoff_delay, retry_after_seconds
from modelyard.serve import resilience


def test_the_gateway_and_eval_use_the_same_policy() -> None:
    assert resilience.backoff_delay is backoff_delay is client.backoff_delay
    assert resilience.retry_after_seconds is retry_after_seconds is client.retry_after_seconds


def test_backoff_doubles_with_jitter_and_respects_the_cap() -> None:
    random.seed(0)
    for attempt in range(8):
        delays = [backoff_delay(attempt, 0.5, None) for _ in range(200)]
        full = 0.5 * 2**attempt
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 4, "jitter spreads clients apart"
    assert all(backoff_delay(10, 0.5, None, cap_s=60) <= 60 for _ in range(50))


def test_retry_after_wins_but_not_past_the_cap() -> None:
    assert backoff_delay(0, 0.5, retry_after=2.0) == 2.0
    assert backoff_delay(5, 0.5, retry_after=0.0) == 0.0
    assert backoff_delay(0, 0.5, retry_after=3600.0, cap_s=60) == 60


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds("3") == 3 and retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-4") == 0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412500) == 0
    for junk in ("soon", "", None, "Wed, 99 Foo", "1e999999x"):
        assert retry_after_seconds(junk) is None
