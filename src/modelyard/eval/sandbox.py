"""Run untrusted Python (model-written code) in a child process that cannot do much harm.

The child runs ``python -I -S -B`` with an empty environment in a fresh temporary directory,
under RLIMIT_CPU, RLIMIT_AS (memory), RLIMIT_FSIZE and RLIMIT_NOFILE, with a wall-clock timeout,
behind an audit hook (see ``_sandbox_guard``) that refuses sockets, subprocesses, ctypes and
writes outside its directory, and, where unprivileged user namespaces work, inside
``unshare --net`` with no network interfaces at all. The directory is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_GUARD = Path(__file__).with_name("_sandbox_guard.py")


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one sandboxed run."""

    cpu_s: int = 5
    memory_mb: int = 512
    wall_s: float = 15.0
    file_mb: int = 16
    open_files: int = 64


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    network_namespace: bool
    """The child ran in its own empty network namespace."""

    @property
    def ok(self) -> bool:
        """Exited with status 0 in time."""
        return self.returncode == 0 and not self.timed_out

    @property
    def reason(self) -> str:
        """A one-line account of how it ended."""
        if self.timed_out:
            return "wall-clock timeout"
        if self.returncode == -signal.SIGXCPU or self.returncode == -signal.SIGKILL:
            return f"killed by {signal.Signals(-self.returncode).name} (CPU limit)"
        if self.returncode < 0:
            return f"killed by {signal.Signals(-self.returncode).name}"
        tail = self.stderr.strip().splitlines()[-1:] or [""]
        return "passed" if self.returncode == 0 else f"exit {self.returncode}: {tail[0][:300]}"


@functools.cache
def _unshare_prefix() -> tuple[str, ...]:
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    probe = subprocess.run(
        [unshare, "--user", "--map-root-user", "--net", "true"], capture_output=True, check=False
    )
    return (unshare, "--user", "--map-root-user", "--net") if probe.returncode == 0 else ()


def _set_limits(limits: SandboxLimits) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


async def run_python(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` as ``main.py`` in a throwaway directory under the sandbox's limits.

    Args:
        code: a complete Python program.
        limits: resource limits; the defaults suit unit-test style checks.

    Returns:
        Exit status, captured output (truncated to 64 KiB each) and whether it timed out.
    """
    limits = limits or SandboxLimits()
    workdir = Path(tempfile.mkdtemp(prefix="yard-sandbox-"))
    try:
        (workdir / "main.py").write_text(code, encoding="utf-8")
        return await _execute(workdir, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _execute(workdir: Path, limits: SandboxLimits) -> SandboxResult:
    prefix = _unshare_prefix()
    argv = [*prefix, sys.executable, "-I", "-S", "-B", "-c", _GUARD.read_text(), "main.py"]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=workdir,
        env={},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=functools.partial(_set_limits, limits),
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limits.wall_s)
    except TimeoutError:
        timed_out = True
        proc.kill()
        out, err = await proc.communicate()
    cap = 64 * 1024
    return SandboxResult(
        returncode=proc.returncode if proc.returncode is not None else -9,
        stdout=out.decode(errors="replace")[:cap],
        stderr=err.decode(errors="replace")[:cap],
        timed_out=timed_out,
        network_namespace=bool(prefix),
    )
