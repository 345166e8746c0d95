"""The sandbox keeps code under test in its directory, off the network and inside its limits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from modelyard.eval.sandbox import SandboxLimits, run_python


def run(code: str, **limits: float) -> object:
    return asyncio.run(run_python(code, SandboxLimits(**limits)))  # type: ignore[arg-type]


def test_code_runs_and_may_write_inside_its_directory() -> None:
    result = run("open('out.txt', 'w').write('hi'); print(open('out.txt').read())")
    assert result.ok, result.stderr
    assert result.stdout.strip() == "hi"


def test_cannot_write_outside_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')",
        f"import os; os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)",
        "open('../escaped.txt', 'w').write('x')",
        f"import shutil; shutil.rmtree({str(tmp_path)!r})",
        f"import os; os.rename('main.py', {str(target)!r})",
    ):
        result = run(code)
        assert not result.ok
        assert "PermissionError: sandbox" in result.stderr, result.stderr
    assert tmp_path.exists() and not target.exists()


def test_cannot_open_a_socket_or_escape_through_a_subprocess() -> None:
    for code in (
        "import socket; socket.create_connection(('127.0.0.1', 9))",
        "import _socket; _socket.socket()",
        "import subprocess; subprocess.run(['true'])",
        "import os; os.system('true')",
        "import ctypes",
    ):
        result = run(code)
        assert not result.ok
        assert "PermissionError: sandbox" in result.stderr, (code, result.stderr)


def test_cannot_run_past_its_cpu_limit() -> None:
    started = time.monotonic()
    result = run("while True:\n    pass\n", cpu_s=1, wall_s=20)
    assert not result.ok and not result.timed_out
    assert "CPU limit" in result.reason
    assert time.monotonic() - started < 10


def test_wall_clock_timeout_kills_a_sleeper() -> None:
    result = run("import time; time.sleep(30)", wall_s=1)
    assert result.timed_out and not result.ok


def test_memory_limit_stops_a_large_allocation() -> None:
    result = run("x = bytearray(2 * 1024**3)", memory_mb=256)
    assert not result.ok
    assert "MemoryError" in result.stderr


def test_environment_is_empty() -> None:
    result = run("import os; print(sorted(os.environ))")
    assert result.stdout.strip() in ("[]", "['LC_CTYPE']")
