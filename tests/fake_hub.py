"""A Hugging Face hub on loopback, for `yard pull`: the file tree API and file downloads.

It answers what ``huggingface_hub`` asks when ``HF_ENDPOINT`` points at it:

- ``GET /api/models/{owner}/{name}/tree/{revision}``: the repository's files (``list_repo_files``);
- ``HEAD`` / ``GET /{owner}/{name}/resolve/{revision}/{path}``: a file's metadata and bytes
  (``hf_hub_download``);
- anything else, an unknown repository or file: 401 or 404 with the hub's ``X-Error-Code``.

``repos`` maps ``owner/name`` to ``{path: bytes}``; ``requests`` logs ``(method, path)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from pathlib import Path

import gguf
import numpy as np
from aiohttp import web

COMMIT = "0" * 40


def tiny_gguf(tmp: Path, name: str = "tiny.gguf") -> bytes:
    """The bytes of a valid GGUF file with one 4-float tensor (readable by ``gguf``)."""
    path = tmp / name
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_tensor("t", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


class FakeHub:
    """``with FakeHub({"org/repo": {"m-Q4_K_M.gguf": data}}) as hub: hub.url``."""

    def __init__(self, repos: dict[str, dict[str, bytes]]) -> None:
        self.repos = repos
        self.requests: list[tuple[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._sock.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/models/{owner}/{name}/tree/{revision}", self._tree)
        app.router.add_route("*", "/{owner}/{name}/resolve/{revision}/{path:.+}", self._file)
        app.router.add_route("*", "/{tail:.*}", self._missing)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    def _repo(self, request: web.Request) -> dict[str, bytes] | None:
        self.requests.append((request.method, request.path))
        return self.repos.get(f"{request.match_info['owner']}/{request.match_info['name']}")

    async def _tree(self, request: web.Request) -> web.Response:
        files = self._repo(request)
        if files is None:
            return _not_found("RepoNotFound")
        entries = [
            {"type": "file", "path": path, "size": len(data), "oid": _sha1(data)}
            for path, data in sorted(files.items())
        ]
        return web.json_response(entries)

    async def _file(self, request: web.Request) -> web.Response:
        files = self._repo(request)
        if files is None:
            return _not_found("RepoNotFound")
        data = files.get(request.match_info["path"])
        if data is None:
            return _not_found("EntryNotFound")
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{_sha1(data)}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return web.Response(headers=headers)
        return web.Response(body=data, headers=headers, content_type="application/octet-stream")

    async def _missing(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        return _not_found("RepoNotFound")


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _not_found(code: str) -> web.Response:
    # the hub answers 401 for a repository it does not show (missing, private or gated)
    status = 401 if code == "RepoNotFound" else 404
    return web.json_response({"error": code}, status=status, headers={"X-Error-Code": code})
