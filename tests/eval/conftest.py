"""Eval fixtures: a fake OpenAI-compatible endpoint on loopback; the sandbox's bubblewrap."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from modelyard.eval._bubblewrap import Launcher, bubblewrap
from tests.serve.fault_upstream import FaultUpstream


def fixed_reply(model: str, messages: list[dict[str, str]]) -> str:
    return "Let me think. Answer: 42"


@pytest.fixture
def fake_server() -> Iterator[FaultUpstream]:
    """A started fake endpoint; tests change ``reply`` or ``delay_s``, or ``plan`` faults."""
    with FaultUpstream("eval", reply=fixed_reply) as server:
        yield server


@pytest.fixture(scope="session")
def isolated() -> Launcher:
    """The bubblewrap launcher; its tests skip where none works, except in CI where they fail."""
    found = bubblewrap()
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the sandbox tests, but {found}")
        pytest.skip(found)
    return found
