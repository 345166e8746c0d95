"""Scans in worker processes, for bodies large enough that scanning them in a thread would
stall the event loop of the process that serves them.

A scan is Python work: in a thread it holds the interpreter lock in slices, and two large
scans at once leave the event loop waiting for it (docs/PERFORMANCE.md, *Private data*).
``ScanPool.scan`` hands the body to one of a few worker processes and awaits the verdict (kinds
and positions, never values, come back). Each worker is a fresh ``python`` running ``main``:
an interpreter that imports the scanner and nothing of the program that started it (a
``multiprocessing`` spawn re-imports the parent's ``__main__``: under `yard serve` that is the
whole CLI, 139 MB a worker instead of 58), reads one pickled job at a time from stdin and
writes the pickled verdict to stdout, and exits when stdin closes, so no worker outlives its
gateway.

It fails closed: a worker that dies, a scan that raises, a verdict later than ``wall_s``
(waiting for a free worker included) or a queue already full makes the request ``unread``, so
private. A worker that died or ran past ``wall_s`` is killed and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pickle
import sys
import time
from dataclasses import dataclass
from typing import Any, BinaryIO

from modelyard.privacy.findings import Scan
from modelyard.privacy.scanner import Budget, Scanner

log = logging.getLogger("modelyard.privacy")
WALL_S = 10.0
"""How long a request waits for its verdict, queueing included (a scan's CPU is budgeted; this
bounds the wait when the workers are busy or the machine is overloaded)."""
NER_LOAD_S = 60.0
"""More time for a job with names on a worker that has not loaded the NER model yet (spaCy and
the model: 6 s of CPU, 8 s on the shared 2-core machine, more under load); a worker killed for
being late would load it again, and again."""
WAITING = 8
"""Scans that may wait per worker; past that a request is private at once, so a flood of
large bodies piles up no work."""
HEADER = 4


@dataclass(frozen=True)
class Job:
    """One scan: the body, its budget, and whether the NER model looks for names too."""

    payload: Any
    budget: Budget
    names: bool = False


class Worker:
    """One worker process; one job at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.names = False
        """Whether it has the NER model loaded (after its first job with names)."""

    @classmethod
    async def start(cls) -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", f"from {__name__} import main; main()",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def scan(self, job: Job) -> Scan:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        data = pickle.dumps(job, pickle.HIGHEST_PROTOCOL)
        stdin.write(len(data).to_bytes(HEADER, "big") + data)
        await stdin.drain()
        size = int.from_bytes(await stdout.readexactly(HEADER), "big")
        scan = pickle.loads(await stdout.readexactly(size))
        if not isinstance(scan, Scan):
            raise TypeError(f"a worker answered {type(scan).__name__}, not a Scan")
        return scan

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def close(self) -> None:
        """Close stdin (the worker exits after its current job), kill it if it lingers."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2.0)
        except TimeoutError:
            self.kill()
            await self.process.wait()


class ScanPool:
    """A few worker processes that scan request bodies, started on the first scan (or by
    ``start``; each takes about 0.5 s of CPU to load the scanner) and stopped by ``close``."""

    def __init__(self, workers: int, wall_s: float = WALL_S, waiting: int = WAITING) -> None:
        self.workers = workers
        self.wall_s = wall_s
        self.limit = workers * waiting
        self.waiting = 0
        """Scans handed in and not yet answered (at most ``limit``)."""
        self._all: set[Worker] = set()
        self._running: set[asyncio.Task[Scan]] = set()
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._filling = asyncio.Lock()
        self._closed = False

    async def start(self) -> None:
        """Start workers until ``workers`` run (the first scan does, and each after a worker
        was replaced, in case starting its successor failed)."""
        async with self._filling:
            while not self._closed and len(self._all) < self.workers:
                worker = await Worker.start()
                self._all.add(worker)
                self._idle.put_nowait(worker)

    async def scan(self, payload: Any, budget: Budget, names: bool = False) -> Scan:
        """The verdict on ``payload``, scanned in a worker within ``budget`` (``names``: with
        the NER model too); ``unread`` (private) when no worker gives it in time."""
        started = time.perf_counter()
        if self._closed:
            return _failed("the scan workers are closed", started)
        if self.waiting >= self.limit:
            return _failed(f"{self.waiting} scans already waiting for a worker", started)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wall_s + (NER_LOAD_S if names else 0)):
                await self.start()
                worker = await self._idle.get()
                run = asyncio.ensure_future(self._run(worker, Job(payload, budget, names)))
                self._running.add(run)
                run.add_done_callback(self._forget)
                # shielded: a client that goes away does not cut a worker's answer in half
                return await asyncio.shield(run)
        except TimeoutError:
            waited = time.perf_counter() - started
            return _failed(f"scan worker gave no verdict in {waited:.0f} s", started)
        except Exception as exc:  # the worker died or answered garbage: it has been replaced
            log.warning("privacy: scan worker failed: %s: %s", type(exc).__name__, exc)
            return _failed(f"scan worker failed ({type(exc).__name__})", started)
        finally:
            self.waiting -= 1

    async def _run(self, worker: Worker, job: Job) -> Scan:
        """One job on ``worker``; afterwards the worker is idle again, or replaced when it
        failed or took longer than ``wall_s``."""
        loading = job.names and not worker.names
        try:
            async with asyncio.timeout(self.wall_s + (NER_LOAD_S if loading else 0)):
                scan = await worker.scan(job)
        except BaseException:
            await self._replace(worker)
            raise
        worker.names = worker.names or job.names
        self._idle.put_nowait(worker)
        return scan

    def _forget(self, run: asyncio.Task[Scan]) -> None:
        """A finished job; its error, if any, was already reported to the request that
        waited for it, or nobody waits any more."""
        self._running.discard(run)
        if not run.cancelled():
            run.exception()

    async def _replace(self, worker: Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        await worker.process.wait()
        await self.start()

    async def close(self) -> None:
        """Stop every worker (those busy finish their job first, for at most 2 s)."""
        self._closed = True
        workers, self._all = list(self._all), set()
        await asyncio.gather(*(w.close() for w in workers))

    def pids(self) -> list[int]:
        """The workers' process ids."""
        return sorted(w.process.pid for w in self._all)


def _failed(why: str, started: float) -> Scan:
    return Scan(unread=why, elapsed_ms=round((time.perf_counter() - started) * 1000, 3))


@functools.cache
def _scanner(budget: Budget, names: bool) -> Scanner:
    extra = None
    if names:
        from modelyard.privacy.ner import detector

        extra = detector()  # None when not installed: the rules alone
    return Scanner(budget, extra=extra)


def serve(jobs: BinaryIO, verdicts: BinaryIO) -> None:
    """A worker's loop: a framed pickled ``Job`` in, a framed pickled ``Scan`` out, until
    ``jobs`` ends."""
    Scanner()  # every table loaded and every pattern compiled before the first job
    while header := jobs.read(HEADER):
        job: Job = pickle.loads(jobs.read(int.from_bytes(header, "big")))
        try:
            scan = _scanner(job.budget, job.names).scan_body(job.payload)
        except Exception as exc:  # a bug in a detector: the request stays in-house
            scan = Scan(unread=f"scan failed ({type(exc).__name__})")
        data = pickle.dumps(scan, pickle.HIGHEST_PROTOCOL)
        verdicts.write(len(data).to_bytes(HEADER, "big") + data)
        verdicts.flush()


def main() -> None:
    """The worker process: verdicts go to the stdout it was started with; anything a library
    prints goes to stderr, so it cannot break a frame."""
    verdicts = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, verdicts)
