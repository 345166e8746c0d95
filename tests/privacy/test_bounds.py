"""Hostile bodies: every scan ends, within its budget or by saying it could not finish."""

from __future__ import annotations

import gc
import time

import pytest

from modelyard.privacy import Budget, Scanner
from modelyard.privacy.scanner import Clock, OverBudget

HOSTILE = {
    "dots": "a." * 500_000,
    "digits": "1 " * 200_000,
    "at-signs": "a@" * 200_000,
    "base64": "QUFB" * 100_000,
    "cue words": "password my diabetes " * 20_000,
    "cards": "4111 1111 1111 1111 " * 20_000,
    "named numbers": "passport 12345678 Kontonummer 7654321 Kennzeichen M-KL 4821 " * 8_000,
    "ip addresses": "my IP 84.132.17.201 " * 20_000,
    "address labels": "Adresse: 12 Am Hain 7a, 82131 Gauting " * 10_000,
    "colons": "a:" * 200_000,
    "compound words": "meine krebsdiagnose " * 20_000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_tiny_budget_stops_the_scan_and_fails_closed(name: str) -> None:
    scan = Scanner(Budget(base_ms=1, per_mb_ms=0)).scan_text(HOSTILE[name])
    assert scan.private and "unread" in scan.kinds
    assert "budget" in (scan.unread or "")


def test_the_old_quadratic_input_is_read_to_the_end() -> None:
    # the old e-mail pattern took 2.4-3.4 s on this
    scan = Scanner(Budget(base_ms=5_000)).scan_text("a." * 16_000)
    assert scan.unread is None and not scan.private


def test_deep_and_wide_bodies_are_read() -> None:
    deep: object = "jane.doe@gmail.com"
    for _ in range(500):
        deep = {"x": [deep]}
    wide = {f"k{i}": f"value {i}" for i in range(20_000)}
    assert Scanner(Budget(5_000)).scan_body(deep).kinds == ["email"]
    assert not Scanner(Budget(5_000)).scan_body(wide).private


def test_many_messages_ending_in_numbers_stop_at_the_budget() -> None:
    # every message ends with a number and the next starts with one: a cut to read at each
    body = {"messages": [{"role": "user", "content": f"part {i}"} for i in range(20_000)]}
    scan = Scanner(Budget(base_ms=1, per_mb_ms=0)).scan_body(body)
    assert scan.private and "budget" in (scan.unread or "")


def test_a_garbage_collection_in_the_scanning_thread_is_not_the_scans_time() -> None:
    # a full collection walks every object of the process, not only the scan's: a gateway
    # with a large heap would otherwise fail small scans that happened to set one off
    heap = [[i] for i in range(800_000)]
    clock = Clock(0.02)
    started = time.thread_time()
    gc.collect()
    assert time.thread_time() - started > 0.02, "the collection was too quick to show anything"
    clock.check()
    spin_until = time.thread_time() + 0.05
    while time.thread_time() < spin_until:
        pass
    with pytest.raises(OverBudget):
        clock.check()
    del heap
