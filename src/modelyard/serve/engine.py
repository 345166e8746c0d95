"""The local engine: llama.cpp's OpenAI-compatible server (xllamacpp) in a child process.

The gateway starts one LocalEngine per ``local`` backend, sends it OpenAI requests at the URL
``start()`` returns, and calls ``stop()`` on shutdown; ``serve.supervisor`` watches ``exit_code()``
and probes ``health_url``, calls ``kill()`` when the child hung and ``restart()`` once it died.
The engine runs in its own process so that token generation never blocks the gateway's event
loop and a crash in llama.cpp takes down only the engine. The child also exits when the parent
dies (its stdin closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from modelyard.errors import BackendError, MissingExtraError


async def template_caps(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """What the chat template of the engine at ``url`` (``.../v1``) can do: llama.cpp's
    ``/props`` ``chat_template_caps`` (``supports_tools`` ...); empty when it does not say."""
    props = url.removesuffix("/v1") + "/props"

    def fetch() -> Any:
        with urllib.request.urlopen(props, timeout=timeout) as answer:
            return json.loads(answer.read())

    try:
        data = await asyncio.to_thread(fetch)
    except (OSError, ValueError):
        return {}
    caps = data.get("chat_template_caps") if isinstance(data, dict) else None
    return caps if isinstance(caps, dict) else {}


NOTABLE = re.compile(r"GGML_ASSERT|error|failed|abort|out of memory", re.IGNORECASE)
"""Engine log lines worth showing when it dies, wherever they are in the tail."""


class LocalEngine:
    """One llama.cpp server process serving one GGUF model on 127.0.0.1.

    Args:
        gguf_path: the model file (see ``modelyard.pull``).
        ctx_size: context tokens each request slot gets.
        threads: CPU threads for generation; None lets llama.cpp choose.
        parallel: request slots decoded together (continuous batching), ``ctx_size`` each.
        embeddings: also serve /v1/embeddings (a str: pool token vectors so: mean, cls, last).
        alias: model name the server reports in /v1/models and responses.
        gpu_layers: layers to offload to a GPU; None keeps llama.cpp's default.
        startup_timeout: seconds to wait for the model to load.
        log_path: file for the engine's log (appended to across restarts); a temporary file by
            default.
    """

    def __init__(
        self,
        gguf_path: Path,
        ctx_size: int = 4096,
        threads: int | None = None,
        parallel: int = 2,
        embeddings: bool | str = False,
        alias: str | None = None,
        gpu_layers: int | None = None,
        startup_timeout: float = 120.0,
        log_path: Path | None = None,
    ) -> None:
        self.gguf_path = Path(gguf_path)
        self.settings: dict[str, Any] = {
            "model": str(self.gguf_path),
            "ctx_size": ctx_size,
            "threads": threads,
            "parallel": parallel,
            "embeddings": embeddings,
            "alias": alias,
            "gpu_layers": gpu_layers,
        }
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.url: str | None = None
        """Base URL of the OpenAI API (``http://127.0.0.1:PORT/v1``) while running."""
        self._process: subprocess.Popen[str] | None = None

    async def start(self) -> str:
        """Start the server, wait until the model is loaded, return its ``.../v1`` base URL.

        Raises:
            MissingExtraError: xllamacpp is not installed.
            BackendError: the model file is missing, or the server died or hung while loading.
        """
        if self._process is not None and self.url is not None:
            return self.url
        if importlib.util.find_spec("xllamacpp") is None:
            raise MissingExtraError("xllamacpp", "serve", "The local llama.cpp engine")
        if not self.gguf_path.is_file():
            raise BackendError(f"{self.gguf_path}: model file not found; fetch it with `yard pull`")
        self._process = self._spawn()
        try:
            url = await asyncio.wait_for(asyncio.to_thread(self._read_url), self.startup_timeout)
        except TimeoutError:
            await self.stop()
            raise BackendError(
                self._failure(f"did not load in {self.startup_timeout:g}s")
            ) from None
        if url is None:
            await self.stop()
            raise BackendError(self._failure("exited while loading the model"))
        self.url = url + "/v1"
        return self.url

    def _read_url(self) -> str | None:
        """The URL the child announces on stdout; None if it exits first."""
        for line in self._process.stdout:  # type: ignore[union-attr]
            if line.startswith('{"url"'):
                return str(json.loads(line)["url"])
        return None

    def _spawn(self) -> subprocess.Popen[str]:
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="yard-engine-", suffix=".log")
            self.log_path = Path(name)
            log: IO[str] = open(handle, "w")  # noqa: SIM115 (the child keeps writing to it)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("a")
        command = [sys.executable, "-m", "modelyard.serve._llama_server", json.dumps(self.settings)]
        with log:
            return subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
            )

    async def restart(self) -> str:
        """Stop what is left of the server (a dead child is reaped) and start it again.

        Returns:
            The new ``.../v1`` base URL (the port changes).

        Raises:
            BackendError: as for ``start()``.
        """
        await self.stop()
        return await self.start()

    def _failure(self, what: str) -> str:
        tail = self.log_tail()
        tail = "; last log lines:\n  " + tail.replace("\n", "\n  ") if tail else ""
        return f"local engine for {self.gguf_path} {what} (log: {self.log_path}){tail}"

    def log_tail(self, lines: int = 5) -> str:
        """The last ``lines`` lines of the engine's log ("" when there is none), after the last
        lines that say what failed (a crash's debugger backtrace can fill the tail)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        last = text[-lines:]
        notable = [line for line in text[-500:] if NOTABLE.search(line) and line not in last]
        return "\n".join([*notable[-2:], *last])

    @property
    def pid(self) -> int | None:
        """Process id of the running engine, if any."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the child is alive and has announced its URL (the model is loaded)."""
        return self.url is not None and self.exit_code() is None

    def exit_code(self) -> int | None:
        """The child's exit status once it has exited (``-9`` after SIGKILL); None while it runs
        or when no child was started. Costs one ``waitpid`` call, no I/O."""
        return self._process.poll() if self._process is not None else None

    @property
    def health_url(self) -> str | None:
        """llama.cpp's ``GET /health`` URL while the engine serves (None before it loaded)."""
        return self.url.removesuffix("/v1") + "/health" if self.url is not None else None

    def kill(self) -> None:
        """SIGKILL the child (a hung or stopped one dies too); ``restart()`` reaps it."""
        if self._process is not None:
            self._process.kill()

    def healthy(self) -> bool:
        """Whether the process runs and its ``GET /health`` answers 200 (model loaded)."""
        health = self.health_url
        if self._process is None or self._process.poll() is not None or health is None:
            return False
        try:
            with urllib.request.urlopen(health, timeout=2.0) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for the process to exit (killing it after ``timeout``)."""
        process, self._process, self.url = self._process, None, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()  # type: ignore[union-attr]
        if process.poll() is None:
            process.terminate()
        try:
            await asyncio.to_thread(process.wait, timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        process.stdout.close()  # type: ignore[union-attr]
