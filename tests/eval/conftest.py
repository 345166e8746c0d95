"""Eval fixtures: a fake OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_openai import FakeOpenAI


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAI]:
    """A started fake endpoint; tests change ``reply``, ``delay_s`` or ``fail_first`` on it."""
    server = FakeOpenAI()
    server.url = server.start()  # type: ignore[attr-defined]
    yield server
    server.stop()
