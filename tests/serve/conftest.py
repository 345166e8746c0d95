"""Fixtures shared by the `auto` routing tests: a self-hosted and a remote fake upstream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serve.fault_upstream import FaultUpstream


@pytest.fixture
def home_up() -> Iterator[FaultUpstream]:
    """The self-hosted backend's upstream."""
    with FaultUpstream("home") as up:
        yield up


@pytest.fixture
def remote_up() -> Iterator[FaultUpstream]:
    """The remote API's upstream; tests check what it received (nothing, for private data)."""
    with FaultUpstream("remote") as up:
        yield up
