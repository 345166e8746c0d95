"""Eval fixtures: a fake OpenAI-compatible endpoint on loopback; the sandbox's bubblewrap."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from modelyard.eval._bubblewrap import Launcher, bubblewrap
from tests.eval.fake_openai import FakeOpenAI


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAI]:
    """A started fake endpoint; tests change ``reply``, ``delay_s`` or ``fail_first`` on it."""
    server = FakeOpenAI()
    server.url = server.start()  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def isolated() -> Launcher:
    """The bubblewrap launcher; its tests skip where none works, except in CI where they fail."""
    found = bubblewrap()
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the sandbox tests, but {found}")
        pytest.skip(found)
    return found
