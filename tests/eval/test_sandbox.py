"""The sandbox runs code against tests faithfully, inside its limits, and refuses to run unisolated
unless allowed. The escape probes are in test_sandbox_escapes.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.eval import _bubblewrap
from modelyard.eval.sandbox import (
    CodeCheck,
    Launcher,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    launcher,
    run_check,
)
from tests.serve.fault_upstream import FaultUpstream

ADD_TEST = "def check(f):\n    assert f(2, 3) == 5\n    assert f(-1, 1) == 0\n"
ADD = "def add(a, b):\n    return a + b\n"


def run(code: str, how: Launcher, test: str = ADD_TEST, **limits: float) -> SandboxResult:
    check = CodeCheck(code=code, test=test, entry_point="add" if test == ADD_TEST else None)
    return asyncio.run(run_check(check, how, SandboxLimits(**limits)))  # type: ignore[arg-type]


@pytest.fixture(params=["bubblewrap", "none"])
def how(request: pytest.FixtureRequest, isolated: Launcher) -> Launcher:
    """Each behaviour holds under bubblewrap and, scoring-wise, without isolation too."""
    return isolated if request.param == "bubblewrap" else _bubblewrap.unisolated()


def test_passes_only_when_every_test_passes(how: Launcher) -> None:
    assert run(ADD, how).passed
    failed = run("def add(a, b):\n    return a - b\n", how)
    assert not failed.passed and failed.reason == "test failed: AssertionError: "
    broken = run("def add(a, b):\n    return a +\n", how)
    assert not broken.passed and broken.reason.startswith("the code raised SyntaxError")


def test_early_exit_and_fake_success_never_pass(how: Launcher) -> None:
    for code in (
        "import sys; sys.exit(0)",
        "import os; os._exit(0)",
        "def add(a, b):\n    raise SystemExit(0)\n",
        "print('passed'); import sys; sys.exit(0)",
    ):
        result = run(code, how)
        assert not result.passed, code
        assert "the code exited with status 0" in result.reason, (code, result.reason)


def test_results_cross_over_as_plain_data_with_the_same_meaning(how: Launcher) -> None:
    code = (
        "def add(a, b=0, *, c=0):\n"
        "    if a is None:\n        raise ValueError('no a')\n"
        "    return a + b + c\n"
        "def kinds():\n"
        "    return [(1, 2), {3}, frozenset({4}), 1j, None, True, b'x', {'k': [1.5]}]\n"
    )
    test = (
        "assert add(1, 2) == 3 and add(1, c=5) == 6\n"
        "assert kinds() == [(1, 2), {3}, frozenset({4}), 1j, None, True, b'x', {'k': [1.5]}]\n"
        "assert kinds()[0] != [1, 2] and kinds()[5] is True and kinds()[4] is None\n"
        "try:\n    add(None)\nexcept ValueError as exc:\n    assert str(exc) == 'no a'\n"
        "else:\n    raise AssertionError('no ValueError')\n"
    )
    result = run(code, how, test=test)
    assert result.passed, result.output


def test_a_result_that_is_not_plain_data_fails(how: Launcher) -> None:
    lying = "class Yes:\n    def __eq__(self, other):\n        return True\n"
    result = run(lying + "def add(a, b):\n    return Yes()\n", how)
    assert not result.passed and "cannot be sent back" in result.reason


def test_humaneval_prompt_helpers_are_there_on_both_sides(how: Launcher) -> None:
    setup = "def encode(s):\n    return s[::-1]\n\ndef decode(s):\n    '''Undo encode.'''\n"
    test = "def check(candidate):\n    assert candidate(encode('abc')) == 'abc'\n"
    check = CodeCheck(code="def decode(s):\n    return encode(s)\n", setup=setup, test=test)
    assert asyncio.run(run_check(dataclasses.replace(check, entry_point="decode"), how)).passed
    wrong = dataclasses.replace(check, code="def decode(s):\n    return s\n", entry_point="decode")
    assert not asyncio.run(run_check(wrong, how)).passed


def test_code_may_use_its_private_tmp_and_sees_an_empty_environment(isolated: Launcher) -> None:
    code = (
        "import os\n"
        "def add(a, b):\n"
        "    with open('/tmp/n.txt', 'w') as f:\n        f.write(str(a + b))\n"
        "    return int(open('/tmp/n.txt').read())\n"
        "def env():\n    return sorted(k for k in os.environ if k != 'LC_CTYPE')\n"
        "def cwd():\n    return os.getcwd()\n"
    )
    test = ADD_TEST + "check(add)\nassert env() == [] and cwd() == '/tmp'\n"
    result = run(code, isolated, test=test)
    assert result.passed, result.output


def test_cpu_limit_stops_a_busy_loop(how: Launcher) -> None:
    started = time.monotonic()
    result = run("def add(a, b):\n    while True:\n        pass\n", how, cpu_s=1, wall_s=20)
    assert not result.passed and not result.timed_out
    assert "(CPU limit) during the tests" in result.reason
    assert time.monotonic() - started < 10


def test_wall_clock_ends_a_sleeper(how: Launcher) -> None:
    started = time.monotonic()
    result = run("import time\ntime.sleep(60)\n", how, wall_s=1)
    assert result.timed_out and not result.passed and result.reason == "wall-clock timeout"
    assert time.monotonic() - started < 5


def test_memory_and_file_size_limits(how: Launcher) -> None:
    result = run("x = bytearray(2 * 1024**3)\n", how, memory_mb=256)
    assert not result.passed and "MemoryError" in result.reason
    big = run("open('big', 'wb').write(b'x' * 40 * 1024 * 1024)\n", how)
    assert not big.passed and "File too large" in big.reason, big.reason


def test_output_is_kept_bounded_and_a_chatty_correct_answer_still_passes(how: Launcher) -> None:
    code = "import sys\nsys.stdout.write('x' * (20 * 1024 * 1024))\n" + ADD
    result = run(code, how)
    assert result.passed, result.reason
    assert len(result.output) <= 64 * 1024


def test_a_reply_over_the_message_limit_fails_cleanly(how: Launcher) -> None:
    result = run("def add(a, b):\n    return 'x' * (20 * 1024 * 1024)\n", how, memory_mb=512)
    assert not result.passed and "at most" in result.reason, result.reason


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine without bubblewrap: PATH holds nothing."""
    monkeypatch.setenv("PATH", str(tmp_path))
    _bubblewrap.bubblewrap.cache_clear()
    yield
    _bubblewrap.bubblewrap.cache_clear()


@pytest.mark.usefixtures("no_bwrap")
def test_without_bubblewrap_code_runs_only_when_allowed() -> None:
    with pytest.raises(
        SandboxUnavailable, match=r"bubblewrap \(bwrap\) is not installed.*--unsafe-code"
    ):
        launcher(allow_unsafe=False)
    assert launcher(allow_unsafe=True).isolation == "none"


SUITE = {
    "name": "one_function",
    "scorer": "code",
    "items": [
        {
            "id": "add",
            "prompt": "Write add(a, b).",
            "reference": {"test": ADD_TEST, "entry_point": "add"},
        }
    ],
}


def _yard_eval(
    suite: Path, server: FaultUpstream, out: Path, path: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", "from modelyard.cli import main; main()", "eval", str(suite)]
    argv += ["-m", "m", "--base-url", server.url, "-o", str(out), "--json", *flags]
    env = {**os.environ, "PATH": path}
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)


def test_yard_eval_refuses_unisolated_code_unless_unsafe_code_is_given(
    fake_server: FaultUpstream, tmp_path: Path
) -> None:
    fake_server.reply = lambda model, messages: f"```python\n{ADD}```"
    suite = tmp_path / "suite.yaml"
    suite.write_text(json.dumps(SUITE))
    refused = _yard_eval(suite, fake_server, tmp_path / "a", str(tmp_path))
    assert refused.returncode == 1 and "--unsafe-code" in refused.stderr, refused.stderr
    assert fake_server.requests == [], "nothing may be asked before the sandbox is known to work"

    allowed = _yard_eval(suite, fake_server, tmp_path / "b", str(tmp_path), "--unsafe-code")
    assert allowed.returncode == 0, allowed.stderr
    spec = json.loads(allowed.stdout)["spec"]
    assert spec["unsafe_code"] is True and spec["code_isolation"] == "none"
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["items"][0]["score"]["value"] == 1
    assert report["items"][0]["score"]["metadata"]["isolation"] == "none"
