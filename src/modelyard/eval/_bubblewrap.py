"""How the sandbox's Python is started: under bubblewrap, or (only when allowed) as is.

Under bubblewrap the process gets new user, PID, network, IPC, UTS and cgroup namespaces (no
network at all; it sees and can signal only its own processes), no capabilities, an empty
environment, and a root that is an empty read-only tmpfs holding only ``/usr`` (with the
``/bin``, ``/lib*`` links), the Python installation, a fresh ``/proc``, a read-only minimal
``/dev`` and a private, size-limited ``/tmp``. Nothing else of the machine is visible: not
``/etc``, the home directories or the project. It runs as uid 65534 inside; when modelyard runs as
root, ``setpriv`` drops bubblewrap itself to uid 65534 first, so the code is never root outside
either. When the sandbox's first process exits, the kernel kills every process left in its PID
namespace; ``--die-with-parent`` does the same when the outer bwrap is killed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

NOBODY = "65534"
"""The sandbox's uid and gid, inside and (when modelyard runs as root) outside."""

_NAMESPACES = (
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--clearenv",
    "--hostname",
    "sandbox",
    "--uid",
    NOBODY,
    "--gid",
    NOBODY,
)
_PROBE = (
    "import _pickle, ctypes, resource, sys; sys.version_info >= (3, 10) and print('sandbox ok')"
)

Isolation = Literal["bubblewrap", "none"]


@dataclass(frozen=True)
class Launcher:
    """A way to start the sandbox's Python."""

    isolation: Isolation
    python: str
    """The interpreter, as seen inside the sandbox."""
    wrapper: tuple[str, ...] = ()
    """setpriv and bwrap with their options, before the private /tmp; empty without isolation."""

    def command(self, args: Sequence[str], tmp_mb: int, info_fd: int | None = None) -> list[str]:
        """The full command line that runs ``python args``.

        Args:
            args: the interpreter's arguments.
            tmp_mb: size of the private /tmp.
            info_fd: where bwrap writes ``{"child-pid": ...}``, the pid of the namespace's
                first process (killing it takes the whole namespace down).
        """
        if not self.wrapper:
            return [self.python, *args]
        tmp = ("--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp", "--chdir", "/tmp")
        info = () if info_fd is None else ("--info-fd", str(info_fd))
        return [*self.wrapper, *info, *tmp, "--remount-ro", "/", self.python, *args]


def _system_mounts() -> list[str]:
    mounts = ["--tmpfs", "/", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            mounts += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            mounts += ["--ro-bind", str(path), str(path)]
    return [*mounts, "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]


def _pythons() -> list[tuple[str, Path]]:
    """Interpreters to try with the folder to mount: the running one's, then the system's."""
    found = [(os.path.realpath(sys.executable), Path(os.path.realpath(sys.base_prefix)))]
    system = os.path.realpath("/usr/bin/python3")
    if os.path.isfile(system) and system != found[0][0]:
        found.append((system, Path("/usr")))
    return found


def _wrapper(bwrap: str, python_root: Path) -> tuple[str, ...] | str:
    """setpriv (as root) and bwrap with every option but /tmp; or why it cannot be built."""
    drop: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            return "modelyard runs as root and setpriv (util-linux) is missing to drop to nobody"
        drop = [setpriv, "--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"]
    root = str(python_root)
    extra = [] if python_root.is_relative_to("/usr") else ["--ro-bind", root, root]
    return (*drop, bwrap, *_NAMESPACES, *_system_mounts(), *extra)


def _probe(launcher: Launcher) -> str | None:
    """None when the launcher starts Python; else what went wrong."""
    command = launcher.command(["-I", "-S", "-B", "-c", _PROBE], tmp_mb=1)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, env={}, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.stdout.strip() == "sandbox ok":
        return None
    return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]


@functools.cache
def bubblewrap() -> Launcher | str:
    """A bubblewrap launcher that works on this machine, or why there is none (checked once)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    problems = []
    for python, root in _pythons():
        wrapper = _wrapper(bwrap, root)
        if isinstance(wrapper, str):
            return wrapper
        launcher = Launcher("bubblewrap", python, wrapper)
        problem = _probe(launcher)
        if problem is None:
            return launcher
        problems.append(f"{python}: {problem}")
    return "bwrap cannot start Python here (" + "; ".join(problems) + ")"


def unisolated() -> Launcher:
    """The running interpreter with no isolation at all (``--unsafe-code``)."""
    return Launcher("none", sys.executable)
