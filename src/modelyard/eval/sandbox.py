"""Run model-written Python against an item's tests, isolated, bounded, and judged by the tests.

The isolation is bubblewrap (see ``_bubblewrap``); without it, code runs only when the caller
allows it explicitly (``yard eval --unsafe-code``). Inside, ``_sandbox_harness`` runs the code in
one process and the tests in another, and writes a per-run nonce only after every test passed;
a run passes only when that nonce comes back, so exiting early or printing never passes. Limits:
CPU time, memory (address space), file size, open files and processes per process, a size for
the private /tmp, and a wall clock after which the whole process tree is killed. Output is read
to the end but only its first 64 KiB are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import pickle
import secrets
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from modelyard.errors import EvalError
from modelyard.eval._bubblewrap import Isolation, Launcher, bubblewrap, unisolated

_HARNESS = Path(__file__).with_name("_sandbox_harness.py")
_OUTPUT_CAP = 64 * 1024
_DRAIN_S = 1.0
"""How long output may still arrive after the sandbox exited (only a run without isolation
can leave a process behind that holds the pipes)."""


class SandboxUnavailable(EvalError):
    """No isolation works here and running code without it was not allowed."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one run; per process unless said otherwise."""

    cpu_s: int = 5
    memory_mb: int = 512
    """Address space."""
    wall_s: float = 15.0
    """For the whole run, start-up included."""
    file_mb: int = 16
    """Largest file a process may write."""
    open_files: int = 64
    processes: int = 8
    """For the whole sandbox, its own start-up process and test stage included; not enforced
    without isolation (there the count is per user across the machine)."""
    tmp_mb: int = 64
    """Size of the private /tmp, the only writable place."""


@dataclass(frozen=True)
class CodeCheck:
    """Model-written code and the trusted material that checks it."""

    code: str
    """The model's code: it runs in its own process."""
    setup: str = ""
    """Runs before the code, on both sides (HumanEval: the prompt's imports and helpers)."""
    test: str = ""
    """The tests; they see the code's functions through proxies."""
    entry_point: str | None = None
    """When set, the tests define ``check`` and get called as ``check(entry_point)``."""


@dataclass(frozen=True)
class SandboxResult:
    """How a run ended."""

    passed: bool
    """Every test ran and passed (the test stage's nonce came back)."""
    returncode: int
    output: str
    """What the code printed (stdout and stderr) and the test stage's account, truncated."""
    timed_out: bool
    isolation: Isolation

    @property
    def reason(self) -> str:
        """A one-line account of how it ended."""
        if self.passed:
            return "passed"
        if self.timed_out:
            return "wall-clock timeout"
        for line in reversed(self.output.splitlines()):
            if line.startswith("sandbox: "):
                return line.removeprefix("sandbox: ")[:300]
        if self.returncode < 0:
            return f"killed by signal {-self.returncode}"
        tail = self.output.strip().splitlines()[-1:] or [""]
        return f"exit {self.returncode}: {tail[0][:300]}"


def launcher(allow_unsafe: bool) -> Launcher:
    """How code will run: under bubblewrap, else without isolation if ``allow_unsafe``.

    Raises:
        SandboxUnavailable: no isolation works here and ``allow_unsafe`` is false.
    """
    found = bubblewrap()
    if isinstance(found, Launcher):
        return found
    if allow_unsafe:
        return unisolated()
    raise SandboxUnavailable(
        f"model-written code runs only in a sandbox, and {found}; install bubblewrap "
        "(Debian/Ubuntu: apt install bubblewrap) or pass --unsafe-code to run it without "
        "any isolation"
    )


async def run_check(
    check: CodeCheck, how: Launcher, limits: SandboxLimits | None = None
) -> SandboxResult:
    """Run ``check.code`` against ``check.test``.

    Args:
        check: the code and its tests.
        how: how to start the sandbox (``launcher()``).
        limits: resource limits; the defaults suit unit-test style checks.
    """
    limits = limits or SandboxLimits()
    nonce = secrets.token_hex(16)
    loop = asyncio.get_running_loop()
    info_r, info_w = os.pipe()
    command = how.command(["-I", "-S", "-B", "-c", _harness_source()], limits.tmp_mb, info_w)
    with _workdir(how) as cwd, open(info_r, "rb", buffering=0) as info:
        try:
            transport, run = await loop.subprocess_exec(
                lambda: _Run(loop, nonce.encode() + b"\n"),
                *command,
                cwd=cwd,
                env={},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(info_w,),
                start_new_session=True,
            )
        finally:
            os.close(info_w)
        tree = _Tree(transport, info, how.isolation == "bubblewrap")
        try:
            timed_out = await run.finish(
                transport, _job(check, limits, nonce, how), limits.wall_s, tree
            )
        finally:
            tree.kill()
            transport.close()
    status = transport.get_returncode()
    status = -signal.SIGKILL if status is None else status
    return SandboxResult(
        passed=run.marked and status == 0 and not timed_out,
        returncode=status,
        output=run.output.decode(errors="replace"),
        timed_out=timed_out,
        isolation=how.isolation,
    )


@functools.cache
def _harness_source() -> str:
    return _HARNESS.read_text(encoding="utf-8")


@contextlib.contextmanager
def _workdir(how: Launcher) -> Iterator[str]:
    """Where the sandbox starts: bubblewrap gives it a private /tmp; otherwise a temporary dir."""
    if how.isolation == "bubblewrap":
        yield "/"
        return
    with tempfile.TemporaryDirectory(prefix="yard-sandbox-", ignore_cleanup_errors=True) as tmp:
        yield tmp


def _job(check: CodeCheck, limits: SandboxLimits, nonce: str, how: Launcher) -> bytes:
    """What the harness reads on stdin (protocol 4: the sandbox's Python may be older)."""
    caps = dataclasses.asdict(limits)
    if how.isolation != "bubblewrap":
        caps["processes"] = None
    return pickle.dumps({**dataclasses.asdict(check), "nonce": nonce, "limits": caps}, protocol=4)


class _Run(asyncio.SubprocessProtocol):
    """Collects one run: the first 64 KiB of stderr, and whether stdout carried the marker."""

    def __init__(self, loop: asyncio.AbstractEventLoop, marker: bytes) -> None:
        self.marker = marker
        self.marked = False
        self.output = b""
        self._tail = b""
        self._open = {1, 2}
        self.exited = loop.create_future()
        self.drained = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self.marked = self.marked or self.marker in self._tail + data
            self._tail = (self._tail + data)[-len(self.marker) :]
        elif len(self.output) < _OUTPUT_CAP:
            self.output += data[: _OUTPUT_CAP - len(self.output)]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open.discard(fd)
        if not self._open and not self.drained.done():
            self.drained.set_result(None)

    def process_exited(self) -> None:
        self.exited.set_result(None)

    async def finish(
        self, transport: asyncio.SubprocessTransport, job: bytes, wall_s: float, tree: _Tree
    ) -> bool:
        """Send the job, wait for the end within ``wall_s``; whether the wall clock ran out."""
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.write(job)
        stdin.close()
        try:
            async with asyncio.timeout(wall_s):
                await asyncio.shield(self.exited)
        except TimeoutError:
            tree.kill()
            await self.exited
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_S):
                await self.drained
        return False


class _Tree:
    """Every process of one run, and how to kill them all."""

    def __init__(self, transport: asyncio.SubprocessTransport, info: BinaryIO, isolated: bool):
        self.transport = transport
        self.info = info
        self.isolated = isolated

    def kill(self) -> None:
        """SIGKILL everything the run started.

        Under bubblewrap that is the namespace's first process: the kernel then kills the rest
        of the namespace before bwrap (the process we wait for) sees it die, so once bwrap has
        exited nothing is left. Without isolation it is the process group, also after its
        leader exited (what the code started may still be in it).
        """
        running = self.transport.get_returncode() is None
        if running and self.isolated and (init := self._namespace_init()) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)
        elif running or not self.isolated:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.transport.get_pid(), signal.SIGKILL)

    def _namespace_init(self) -> int | None:
        os.set_blocking(self.info.fileno(), False)
        try:
            pid = json.loads(self.info.read() or b"{}").get("child-pid")
        except (BlockingIOError, ValueError):
            return None
        return pid if isinstance(pid, int) else None
