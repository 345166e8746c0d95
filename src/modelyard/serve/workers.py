"""`yard serve --workers N`: one listening socket, N worker processes, local engines started once.

The parent binds the port, migrates the ledger and replays what a crash left (once, so workers
do not race), starts each local llama.cpp engine, starts the hub that holds rate windows and
budgets when no Redis is configured and takes the workers' reload requests (``serve/hub.py``),
then runs N workers (``serve/_worker.py``) that inherit the socket; the kernel hands each
connection to one of them. A worker that dies is replaced. SIGTERM or SIGINT makes every worker
drain (finish its requests, flush its ledger); then the engines stop and the parent exits 0.

SIGHUP, or ``POST /admin/reload`` on any worker, reloads the config file here (``reload``):
the file is validated, new local engines start, each worker is replaced by one serving the new
config (the new one serves before the old one drains), and dropped engines stop once the old
workers have exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.multiprocess import mark_process_dead

from modelyard.config import yard_home
from modelyard.errors import ConfigError, YardError
from modelyard.serve.backends import Backend, stop_backends
from modelyard.serve.config import BackendConfig, GatewayConfig
from modelyard.serve.config_file import load_config
from modelyard.serve.hub import HubServer, Reload
from modelyard.serve.reload import (
    Changes,
    announce,
    effective,
    local_backends,
    reload_logged,
    report,
    source_of,
)
from modelyard.serve.usage import open_store

log = logging.getLogger("modelyard.serve")

Process = asyncio.subprocess.Process

DRAIN_S = 40.0
"""How long a worker may take to drain after SIGTERM (30 s for requests, then the ledger)."""
READY_S = 120.0
"""How long a worker may take to start serving."""
STABLE_S = 10.0
"""A worker that dies sooner than this after starting is replaced after a growing delay."""
MAX_DELAY_S = 30.0
"""Longest wait before replacing a worker that keeps dying."""
ENGINE_POLL_S = 1.0
"""How often the parent looks for an engine its supervisor restarted (at a new URL)."""


def worker_count(value: int | str) -> int:
    """Worker processes for a ``--workers`` / ``server.workers`` value.

    Args:
        value: A whole number, or ``auto`` / 0 for one per CPU this process may use.

    Raises:
        YardError: the value is neither.
    """
    text = str(value).strip().lower()
    if text == "auto" or text == "0":
        return len(os.sched_getaffinity(0))
    if not text.isdigit():
        raise YardError(f"workers: {value!r}: expected a whole number, or auto (one per CPU)")
    return int(text)


def run_workers(config: GatewayConfig, host: str, port: int, count: int) -> None:
    """Serve ``config`` with ``count`` worker processes until SIGTERM or SIGINT.

    Raises:
        YardError: the address cannot be bound, or a worker failed to start.
    """
    try:
        sock = socket.create_server((host, port), backlog=2048)
    except OSError as exc:
        raise YardError(f"server.port: cannot listen on {host}:{port}: {exc.strerror}; "
                        "pick another with --port") from None  # fmt: skip
    with sock:
        asyncio.run(Supervisor(config, count, sock).run())


class Supervisor:
    """The parent: owns the socket, the engines and the hub; keeps ``count`` workers alive."""

    def __init__(self, config: GatewayConfig, count: int, sock: socket.socket) -> None:
        self.config = config
        self.count = count
        self.sock = sock
        self.workers: list[Process | None] = [None] * count
        self.born = [0.0] * count
        self.delays = [0.0] * count
        self.engines: dict[str, Backend] = {}
        """The running local engines, by backend name."""
        self.stopping = asyncio.Event()
        self.hub: HubServer | None = None
        self.spec = b""
        self.metrics = Path()
        """The workers' shared metrics directory (set once the private directory exists)."""
        self.log_fd = os.dup(sys.stdout.fileno())
        """Where workers write their log lines: this process's stdout (their own is a pipe to
        it), under a number of its own so the child keeps it."""
        self._slots = [asyncio.Lock() for _ in range(count)]
        """Held while a slot's worker is being replaced (after a death, or by a reload)."""
        self._reloading = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        """Old workers draining, and the engines to stop once they have exited."""

    async def run(self) -> None:
        """Start everything, supervise until a stop signal, then drain and stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        with tempfile.TemporaryDirectory(prefix="yard-workers-") as private:
            try:
                await self._serve(Path(private))
            finally:
                await self._stop()

    async def reload(self, requester: int | None = None) -> dict[str, Any]:
        """Re-read the config file and replace every worker by one serving it.

        New or changed local engines start first; then each worker in turn is replaced (the
        new one serves before the old one drains, so the port never stops answering); engines
        of removed or changed local backends stop once the old workers have exited.

        Args:
            requester: The pid of the worker that asked (``hub.ask_reload``): replaced last,
                so it is still serving when it answers.

        Returns:
            What changed, as a single gateway answers (``reload.report``).

        Raises:
            NoConfigFile: the gateway was started without a config file.
            YardError: the file is invalid, or a new engine or the first new worker failed to
                start; the previous config keeps serving.
        """
        async with self._reloading:
            if self.stopping.is_set():
                raise YardError("the gateway is stopping; nothing was reloaded")
            old = self.config
            loaded = await asyncio.to_thread(load_config, source_of(old))
            await self._switch(effective(old, loaded), requester)
        answer = report(old, loaded)
        announce(answer)
        return answer

    async def _switch(self, config: GatewayConfig, requester: int | None) -> None:
        """Serve ``config``: start its new engines, roll the workers onto it, and retire the
        engines it dropped; when a worker cannot start with it, undo and refuse."""
        local = Changes.between(local_backends(self.config), local_backends(config))
        started = await start_engines(config.backend(n) for n in [*local.added, *local.changed])
        previous = self.config, self.engines, self.spec
        dropped = [self.engines[n] for n in [*local.removed, *local.changed]]
        kept = {n: self.engines[n] for n in local.kept}
        self.config, self.engines = config, kept | started
        self.spec = self._spec()
        replaced = await self._roll(last=requester)
        if replaced is None:
            self.config, self.engines, self.spec = previous
            await stop_backends(started.values())
            raise ConfigError(f"{config.source}: a gateway worker could not start with this "
                              "config (its error is in the gateway's log); still serving "
                              "the previous config")  # fmt: skip
        self._retire(replaced, dropped)

    def _spec(self) -> bytes:
        """The line each worker reads on stdin: its config (secrets never reach argv), the
        engines' URLs, the socket and the hub."""
        config, hub = self.config, self.hub.address  # type: ignore[union-attr]
        if config.state.redis_url is None:
            state = config.state.model_copy(update={"hub": hub})
            config = config.model_copy(update={"state": state})
        urls = {name: b.engine.url for name, b in self.engines.items()}  # type: ignore[union-attr]
        spec = {"config": config.model_dump(mode="json"), "engines": urls,
                "fd": self.sock.fileno(), "log_fd": self.log_fd, "hub": str(hub),
                "metrics": str(self.metrics)}  # fmt: skip
        return orjson.dumps(spec, option=orjson.OPT_APPEND_NEWLINE)

    async def _serve(self, private: Path) -> None:
        """Migrate the ledger, start the engines, the hub and the workers; supervise until a
        stop signal. A reload (SIGHUP) waits until all of this has started."""
        async with self._reloading:
            await asyncio.to_thread(lambda: open_store(self.config.server.ledger_url,
                                                       yard_home()).dispose())  # fmt: skip
            self.engines = await start_engines(local_backends(self.config).values())
            self.hub = HubServer(private, self._reload_from_hub(asyncio.get_running_loop()))
            self.metrics = private / "metrics"
            self.metrics.mkdir()
            self.spec = self._spec()
            spawned = await asyncio.gather(*(self._spawn() for _ in range(self.count)))
            for slot, (worker, _) in enumerate(spawned):
                self._put(slot, worker)
            if not all(ready for _, ready in spawned):
                raise YardError("a gateway worker exited while starting; its error is above")
        log.warning("gateway: %d workers serving (pids %s)", self.count,
                    ", ".join(str(w.pid) for w in self.workers if w))  # fmt: skip
        self._background(self._follow())
        await self.stopping.wait()

    def _reload_from_hub(self, loop: asyncio.AbstractEventLoop) -> Reload:
        """``reload`` for the hub's threads: run on the serving loop, wait for its answer."""
        return lambda pid: asyncio.run_coroutine_threadsafe(self.reload(pid), loop).result()

    def _on_sighup(self) -> None:
        self._background(reload_logged(self.reload))

    async def _spawn(self) -> tuple[Process, bool]:
        """A new worker given ``self.spec``, and whether it got to serving (if not, it is
        dead: killed when it did not get there in time or this wait was cancelled)."""
        # prometheus_client picks its multiprocess mode when first imported, from the env
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics)}
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "modelyard.serve._worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            pass_fds=(self.sock.fileno(), self.log_fd), start_new_session=True, env=env,
        )  # fmt: skip
        # stdin stays open: the worker takes its closing as the parent's death
        worker.stdin.write(self.spec)  # type: ignore[union-attr]
        ready = False
        try:
            ready = await asyncio.wait_for(_ready(worker), READY_S)
        except TimeoutError:
            pass
        finally:
            if not ready:
                await _kill(worker)
        return worker, ready

    def _put(self, slot: int, worker: Process) -> Process | None:
        """Make ``worker`` the one of ``slot`` and watch it; the one it replaces."""
        old, self.workers[slot], self.born[slot] = self.workers[slot], worker, time.monotonic()
        self._background(self._watch(slot, worker))
        return old

    async def _watch(self, slot: int, worker: Process) -> None:
        """Replace ``worker`` when it dies while still the one of ``slot``; quick deaths back
        off."""
        code = await worker.wait()
        mark_process_dead(worker.pid, str(self.metrics))  # its live gauges leave the sums
        async with self._slots[slot]:
            if self.workers[slot] is not worker or self.stopping.is_set():
                return
            quick = time.monotonic() - self.born[slot] < STABLE_S
            delay = min(max(1.0, self.delays[slot] * 2), MAX_DELAY_S) if quick else 0.0
            self.delays[slot] = delay
            log.warning("gateway worker pid %d exited (%s); starting another in %.0fs",
                        worker.pid, code, delay)  # fmt: skip
            await asyncio.sleep(delay)
            self._put(slot, (await self._spawn())[0])

    async def _roll(self, last: int | None = None) -> list[Process] | None:
        """Replace each worker, one at a time, by one given ``self.spec``: the new one serves
        before the old one is told to drain (its requests finish).

        Args:
            last: The pid of a worker to replace last.

        Returns:
            The old workers, draining; None when the first new worker failed to start (then
            nothing was replaced). A later failure is a dying worker, replaced as such.
        """
        order = sorted(range(self.count), key=lambda s: getattr(self.workers[s], "pid", 0) == last)
        replaced: list[Process] = []
        for slot in order:
            async with self._slots[slot]:
                worker, ready = await self._spawn()
                if not ready and not replaced:
                    log.error("gateway: a new worker failed to start (its error is above); "
                              "the running workers stay")  # fmt: skip
                    return None
                old = self._put(slot, worker)
            if old is not None:
                _terminate(old)
                replaced.append(old)
        return replaced

    def _retire(self, workers: list[Process], engines: list[Backend]) -> None:
        """Wait for ``workers`` (told to drain) to exit, then stop ``engines``."""
        task = asyncio.get_running_loop().create_task(_retire(workers, engines))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _follow(self) -> None:
        """An engine the parent's supervisor restarted listens on a new port: replace the
        workers, one at a time, so that they use it."""
        while True:
            await asyncio.sleep(ENGINE_POLL_S)
            async with self._reloading:
                if any(e.down is not None for e in self.engines.values()):
                    continue
                spec = self._spec()
                if spec != self.spec:
                    self.spec = spec
                    self._retire(await self._roll() or [], [])

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stop(self) -> None:
        """Let a reload in progress finish, stop supervising, drain every worker (old ones
        too), then stop the engines and the hub."""
        self.stopping.set()
        async with self._reloading:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            live = [w for w in self.workers if w is not None and w.returncode is None]
            for worker in live:
                _terminate(worker)
            await asyncio.gather(*(_reap(w) for w in live), *self._retiring)
        await stop_backends(self.engines.values())
        if self.hub is not None:
            self.hub.close()
        os.close(self.log_fd)


async def start_engines(configs: Iterable[BackendConfig]) -> dict[str, Backend]:
    """Start the engine of each local backend of ``configs``, each under its supervisor.

    Raises:
        YardError: an engine failed to start; those started are stopped again.
    """
    engines = {c.name: Backend(c) for c in configs}
    try:
        for engine in engines.values():
            await engine.start()
    except BaseException:
        await stop_backends(engines.values())
        raise
    return engines


async def _ready(worker: Process) -> bool:
    """Whether the worker announces ``ready`` on stdout before exiting."""
    async for line in worker.stdout:  # type: ignore[union-attr]
        if line.strip() == b"ready":
            return True
    return False


def _terminate(worker: Process) -> None:
    """SIGTERM: the worker stops accepting, finishes its requests and exits."""
    with contextlib.suppress(ProcessLookupError):
        worker.terminate()


async def _kill(worker: Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.kill()
    await worker.wait()


async def _reap(worker: Process) -> None:
    """Wait for a worker told to drain; kill it when it takes longer than ``DRAIN_S``."""
    try:
        await asyncio.wait_for(worker.wait(), DRAIN_S)
    except TimeoutError:
        log.warning("gateway worker pid %d did not drain in %.0fs; killed", worker.pid, DRAIN_S)
        await _kill(worker)


async def _retire(workers: list[Process], engines: list[Backend]) -> None:
    """Stop ``engines`` once ``workers`` have exited (at once when cancelled)."""
    try:
        await asyncio.gather(*(_reap(w) for w in workers))
    finally:
        await stop_backends(engines)
