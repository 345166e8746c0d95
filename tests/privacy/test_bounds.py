"""Hostile bodies: every scan ends, within its budget or by saying it could not finish."""

from __future__ import annotations

import pytest

from modelyard.privacy import Budget, Scanner

HOSTILE = {
    "dots": "a." * 500_000,
    "digits": "1 " * 200_000,
    "at-signs": "a@" * 200_000,
    "base64": "QUFB" * 100_000,
    "cue words": "password my diabetes " * 20_000,
    "cards": "4111 1111 1111 1111 " * 20_000,
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
