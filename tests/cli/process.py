"""`yard` as a user runs it: a real process, with its own YARD_HOME and no test-only settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "YARD_HOME": str(home), "COLUMNS": "120", **extra}
    env.pop("YARD_RAISE_ERRORS", None)  # errors as users see them: a message, no traceback
    return env


def start(*args: str, home: Path, **extra: str) -> subprocess.Popen[str]:
    """`yard ARGS...` started, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "modelyard.cli", *args], env=environment(home, **extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run(*args: str, home: Path, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
    """`yard ARGS...` run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "modelyard.cli", *args], env=environment(home, **extra),
        input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
