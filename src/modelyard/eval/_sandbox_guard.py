"""Runs inside the sandbox child before the code under test: installs the audit hook.

Started as ``python -I -S -B -c <this file's text> main.py``. CPython audit hooks cannot be
removed once added, so the code under test cannot undo them; they block socket creation,
process creation, ctypes, and any write, rename or delete outside the working directory.
Audit hooks are not a complete security boundary (PEP 578); the parent adds rlimits, an empty
environment, a throwaway directory and, where ``unshare`` works, an empty network namespace.
"""

import os
import sys

ROOT = os.path.realpath(os.getcwd())
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
DENIED = (
    "socket.",
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.",
    "ctypes.",
    "os.kill",
    "os.killpg",
    "sys.addaudithook",
)
PATH_EVENTS = {
    "os.remove": 1,
    "os.rmdir": 1,
    "os.mkdir": 1,
    "os.chmod": 1,
    "os.chown": 1,
    "os.truncate": 1,
    "os.utime": 1,
    "shutil.rmtree": 1,
    "os.rename": 2,
    "os.symlink": 2,
    "os.link": 2,
    "os.chdir": 1,
    "shutil.copyfile": 2,
}


def inside(path):
    if isinstance(path, int):
        return True
    path = os.fsdecode(path)
    return os.path.realpath(os.path.join(ROOT, path)).startswith(ROOT + os.sep)


def deny(event):
    raise PermissionError(f"sandbox: {event} is not allowed")


def hook(event, args):
    if event.startswith(DENIED):
        deny(event)
    if event == "import" and args[0] in ("ctypes", "_ctypes"):
        deny("import " + args[0])
    if event == "open" and args[2] & WRITE_FLAGS and not inside(args[0]):
        deny(f"writing {args[0]!r} outside the sandbox directory")
    if event in PATH_EVENTS and not all(inside(p) for p in args[: PATH_EVENTS[event]]):
        deny(f"{event} outside the sandbox directory")


with open(sys.argv[1], encoding="utf-8") as source:
    code = compile(source.read(), sys.argv[1], "exec")
sys.addaudithook(hook)
exec(code, {"__name__": "__main__"})
