"""The program the sandbox runs: a test stage, and the model's code in a child process.

Started as ``python -I -S -B -c <this file's text>`` with a pickled job on stdin (see
``sandbox._job``). It is not imported by modelyard; it runs inside the sandbox on the standard
library only (Python >= 3.10), and imports little: its start-up is paid once per test.

* The tester (this process) first makes itself non-dumpable, so no process it starts can read
  its memory or open its file descriptors through ``/proc`` or ptrace; then it reads the job,
  sets the resource limits and starts the candidate: this same program with ``candidate R W``.
* The candidate runs the setup (the item's prompt) and the model's code, reports the functions
  it defined, and then answers calls to them over two pipes, arguments and results as pickles.
* The tester runs the item's tests with a proxy in place of each of those functions. Results are
  unpickled with no class allowed, so a result is plain data and cannot be an object whose
  ``__eq__`` lies; the tests never enter the candidate's process, so it cannot read them.
* Only after every test returned does the tester write the nonce to its stdout. The candidate
  never sees the nonce, so neither exiting early nor printing can produce it.
"""

import _pickle
import builtins
import io
import os
import struct
import sys

MAX_MESSAGE = 16 * 1024 * 1024
HEADER = struct.Struct("!I")


class Broken(Exception):
    """The candidate process closed its channel or broke the protocol."""

    def __init__(self, message, ended=False):
        super().__init__(message)
        self.ended = ended


def send(stream, obj):
    data = _pickle.dumps(obj, protocol=4)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream):
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise Broken("the code's process ended", ended=True)
    (size,) = HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise Broken(f"the code sent {size} bytes; at most {MAX_MESSAGE} are accepted")
    data = stream.read(size)
    if len(data) < size:
        raise Broken("the code's process ended mid-reply", ended=True)
    return data


# the candidate's side


def candidate(inbox_fd, outbox_fd):
    """Run the setup and the model's code, then answer calls until the tester stops."""
    with open(inbox_fd, "rb") as inbox, open(outbox_fd, "wb") as outbox:
        setup, code = _pickle.loads(receive(inbox))
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        try:
            exec(compile(setup, "<prompt>", "exec"), namespace)
            exec(compile(code, "main.py", "exec"), namespace)
        except Exception as exc:
            send(outbox, ("load_error", f"{type(exc).__name__}: {exc}"[:1000]))
            return
        function = type(candidate)
        send(outbox, ("ready", [k for k, v in namespace.items() if isinstance(v, function)]))
        while True:
            answer(namespace, _pickle.loads(receive(inbox)), outbox)


def answer(namespace, request, outbox):
    name, args, kwargs = request
    try:
        reply = ("ok", namespace[name](*args, **kwargs))
    except Exception as exc:
        reply = ("raise", type(exc).__name__, str(exc)[:1000])
    try:
        send(outbox, reply)
    except Exception as exc:
        send(outbox, ("raise", "TypeError", f"the result cannot be sent back: {exc}"[:1000]))


# the tester's side


class PlainUnpickler(_pickle.Unpickler):
    """Builds only plain data: the opcodes for None, bool, numbers, str, bytes and containers;
    ``complex`` is the one callable a pickle may name."""

    def find_class(self, module, name):
        if (module, name) == ("builtins", "complex"):
            return complex
        raise _pickle.UnpicklingError(f"the code returned a {module}.{name}: not plain data")


def plain(data):
    return PlainUnpickler(io.BytesIO(data)).load()


class CodeFailed(Exception):
    """The model's code raised while it was being loaded."""


class Remote:
    """Stands in for one of the candidate's functions on the tester's side."""

    def __init__(self, channel, name):
        self.channel = channel
        self.name = name

    def __call__(self, *args, **kwargs):
        return self.channel.call(self.name, args, kwargs)


def rebuilt(kind, message):
    """The candidate's exception, raised again here so tests that expect it still work."""
    try:
        return kind(message)
    except TypeError:
        return RuntimeError(f"{kind.__name__}: {message}")


class Channel:
    """The tester's end of the pipes to the candidate process."""

    def __init__(self, pid, inbox, outbox):
        self.pid = pid
        self.inbox = inbox
        self.outbox = outbox
        self.calls = 0
        self.status = None

    def load(self, setup, code):
        """Have the candidate run the setup and the code; the names of its functions."""
        send(self.outbox, (setup, code))
        status = plain(receive(self.inbox))
        if status[0] != "ready":
            raise CodeFailed(f"the code raised {status[1]}")
        return [str(name) for name in status[1]]

    def call(self, name, args, kwargs):
        self.calls += 1
        send(self.outbox, (name, args, kwargs))
        reply = plain(receive(self.inbox))
        if reply[0] == "ok" and len(reply) == 2:
            return reply[1]
        if reply[0] == "raise" and len(reply) == 3:
            kind = getattr(builtins, str(reply[1]), None)
            if isinstance(kind, type) and issubclass(kind, Exception):
                raise rebuilt(kind, str(reply[2]))
            raise RuntimeError(f"{reply[1]}: {reply[2]}")
        raise Broken(f"the code's process broke the protocol: {str(reply)[:200]}")

    def ended(self, broken):
        """Why the candidate stopped answering."""
        when = "during the tests" if self.calls else "before the tests ran"
        status = self.wait(1.0) if broken.ended else None
        if status is None:
            return f"{broken} {when}"
        if os.WIFSIGNALED(status):
            import signal

            number = os.WTERMSIG(status)
            limit = " (CPU limit)" if number in (signal.SIGXCPU, signal.SIGKILL) else ""
            return f"the code was killed by {signal.Signals(number).name}{limit} {when}"
        return f"the code exited with status {os.WEXITSTATUS(status)} {when}"

    def wait(self, timeout):
        """The candidate's wait status once it exited, or None after ``timeout`` seconds."""
        import time

        deadline = time.monotonic() + timeout
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            self.status = status if pid else None
            time.sleep(0 if pid else 0.005)
        return self.status

    def stop(self):
        if self.status is None:
            os.kill(self.pid, 9)
            self.status = os.waitpid(self.pid, 0)[1]


def set_limits(limits):
    import resource

    mb = 1024 * 1024
    cpu = limits["cpu_s"]
    caps = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2),
        (resource.RLIMIT_FSIZE, (limits["file_mb"] * mb,) * 2),
        (resource.RLIMIT_NOFILE, (limits["open_files"],) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    if limits["processes"] is not None:
        caps.append((resource.RLIMIT_NPROC, (limits["processes"],) * 2))
    for which, values in caps:
        resource.setrlimit(which, values)


def start_candidate():
    """This program again, as the candidate: output to our stderr, never to our stdout."""
    from_parent, to_child = os.pipe()
    from_child, to_parent = os.pipe()
    os.set_inheritable(from_parent, True)
    os.set_inheritable(to_parent, True)
    argv = [sys.executable, "-u", *sys.orig_argv[1:], "candidate", str(from_parent)]
    pid = os.posix_spawn(
        sys.executable,
        [*argv, str(to_parent)],
        {},
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, 2, 1),
        ],
    )
    os.close(from_parent)
    os.close(to_parent)
    return Channel(pid, open(from_child, "rb"), open(to_child, "wb"))


def run_tests(channel, job):
    """None when every test passed, else why not."""
    namespace = {"__name__": "__main__"}
    try:
        names = channel.load(job["setup"], job["code"])
        exec(compile(job["setup"], "<prompt>", "exec"), namespace)
        namespace.update({name: Remote(channel, name) for name in names})
        exec(compile(job["test"], "<tests>", "exec"), namespace)
        if job["entry_point"]:
            namespace["check"](Remote(channel, job["entry_point"]))
    except Broken as exc:
        return channel.ended(exc)
    except CodeFailed as exc:
        return str(exc)
    except Exception as exc:
        return f"test failed: {type(exc).__name__}: {exc}"[:500]
    return None


def tester():
    import ctypes

    if ctypes.CDLL(None).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE
        sys.exit("sandbox: cannot make the test stage non-dumpable")
    job = _pickle.loads(sys.stdin.buffer.read())
    set_limits(job["limits"])
    channel = start_candidate()
    try:
        failure = run_tests(channel, job)
    finally:
        channel.stop()
    if failure is not None:
        sys.stderr.write(f"\nsandbox: {failure}\n")
        sys.exit(1)
    sys.stdout.write(job["nonce"] + "\n")
    sys.stdout.flush()


if sys.argv[1:2] == ["candidate"]:
    candidate(int(sys.argv[2]), int(sys.argv[3]))
else:
    tester()
