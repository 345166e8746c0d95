"""Eval fixtures: a fake OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.eval.fake_openai import FakeOpenAI


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAI]:
    """A started fake endpoint; tests change ``reply``, ``delay_s`` or ``fail_first`` on it."""
    server = FakeOpenAI()
    server.url = server.start()  # type: ignore[attr-defined]
    yield server
    server.stop()
