"""Eval fixtures: a fake OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serve.fault_upstream import FaultUpstream


def fixed_reply(model: str, messages: list[dict[str, str]]) -> str:
    return "Let me think. Answer: 42"


@pytest.fixture
def fake_server() -> Iterator[FaultUpstream]:
    """A started fake endpoint; tests change ``reply`` or ``delay_s``, or ``plan`` faults."""
    with FaultUpstream("eval", reply=fixed_reply) as server:
        yield server
