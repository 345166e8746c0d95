"""Which file of a GGUF repository to pull: quantization labels, split parts, a default choice.

A GGUF repository on the Hugging Face hub holds one file per quantization
(``Qwen3-8B-Q4_K_M.gguf``, ``Qwen3-8B-Q8_0.gguf``, ...), large models split into parts
(``...-Q4_K_M-00001-of-00003.gguf``) or kept in a folder per quantization, and sometimes a
vision projector (``mmproj-*.gguf``) that is not a model on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from modelyard.errors import YardError

PREFERRED = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q4_0", "Q5_0", "Q6_K", "Q8_0")
"""Quantizations chosen when none is asked for, best first: Q4_K_M is what Ollama's library tags
and llama.cpp's README default to; the others in order of size. Else BF16/F16, else the first."""
FULL = ("BF16", "F16", "F32")

_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})$")
_QUANT = re.compile(r"(?:^|[-_.])((?:I?Q\d[A-Z0-9_]*?)|BF16|F16|F32)$", re.IGNORECASE)


@dataclass(frozen=True)
class GgufChoice:
    """The quantization chosen in a repository and the files that hold it."""

    repo: str
    quant: str
    files: tuple[str, ...]
    """One file, or every part of a split model in order (llama.cpp opens the first)."""


def quant_of(path: str) -> str | None:
    """'Qwen3-8B-Q4_K_M.gguf' -> 'Q4_K_M'; 'Q8_0/model-00001-of-00002.gguf' -> 'Q8_0'."""
    for name in (_SPLIT.sub("", _stem(path)), PurePosixPath(path).parent.name):
        found = _QUANT.search(name)
        if found:
            return found[1].upper()
    return None


def choose(repo: str, files: list[str], quant: str | None = None) -> GgufChoice:
    """The files of ``quant`` (or of the preferred quantization) among a repository's files.

    Raises:
        YardError: no GGUF model file, the asked quantization is missing, or a split model
            lacks parts.
    """
    groups = _by_quant(files)
    if not groups:
        raise YardError(f"Hugging Face repo {repo!r} holds no .gguf model file")
    if quant is not None and quant.upper() not in groups:
        raise YardError(
            f"{repo} has no {quant} file; it has {', '.join(sorted(groups))} (choose with --quant)"
        )
    label = quant.upper() if quant else _default(groups)
    parts = groups[label]
    _check_parts(repo, parts)
    return GgufChoice(repo, label, tuple(parts))


def _by_quant(files: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for path in sorted(files):
        name = PurePosixPath(path).name.lower()
        if name.endswith(".gguf") and not name.startswith("mmproj"):
            groups.setdefault(quant_of(path) or _stem(path), []).append(path)
    return groups


def _default(groups: dict[str, list[str]]) -> str:
    for label in (*PREFERRED, *FULL):
        if label in groups:
            return label
    return sorted(groups)[0]


def _check_parts(repo: str, parts: list[str]) -> None:
    counts = {found[2] for p in parts if (found := _SPLIT.search(_stem(p)))}
    if not counts:
        if len(parts) > 1:
            raise YardError(
                f"{repo}: several files carry that quantization ({', '.join(parts)}); "
                f"name one: yard pull {repo}/FILE.gguf"
            )
        return
    if len(counts) > 1 or len(parts) != int(next(iter(counts))):
        raise YardError(f"{repo}: the split model is incomplete: {', '.join(parts)}")


def _stem(path: str) -> str:
    return re.sub(r"\.gguf$", "", PurePosixPath(path).name, flags=re.IGNORECASE)
