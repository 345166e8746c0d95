"""The PostgreSQL and Redis that scripts/services.sh starts; tests skip when they are absent."""

from __future__ import annotations

import os
import subprocess

import pytest

HINT = 'start them with: eval "$(scripts/services.sh start)" (CI does)'


def postgres_url() -> str:
    """YARD_TEST_POSTGRES_URL, or skip the test."""
    url = os.environ.get("YARD_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(f"YARD_TEST_POSTGRES_URL is not set: no PostgreSQL to test against; {HINT}")
    return url


def redis_url() -> str:
    """YARD_TEST_REDIS_URL, or skip the test."""
    url = os.environ.get("YARD_TEST_REDIS_URL")
    if not url:
        pytest.skip(f"YARD_TEST_REDIS_URL is not set: no Redis to test against; {HINT}")
    return url


def control(action: str, service: str) -> None:
    """Stop or start one of the services (needs YARD_TEST_SERVICES, set by services.sh)."""
    script = os.environ.get("YARD_TEST_SERVICES")
    if not script:
        pytest.skip(f"YARD_TEST_SERVICES is not set: cannot restart {service}; {HINT}")
    subprocess.run([script, action, service], check=True, timeout=60)
