"""Which weights can be served, starting from the checkpoint the vendor actually released.

A model's native format is the precision of its main repository (MXFP4 for gpt-oss, FP8 for
DeepSeek-V3 and Kimi K2, BF16 for most); the catalog's ``quantized`` entries add the vendor's
other releases and community ones. Formats nobody in the catalog publishes are either made by
the engine at load time (vLLM's ``--quantization fp8``) or need a conversion first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modelyard.catalog.schema import Model
from modelyard.plan.formats import CATALOG_FORMATS, FORMATS, QUALITY_ORDER, WeightFormat

Origin = Literal["native", "official", "community", "runtime", "convert"]

RUNTIME_QUANT: dict[str, tuple[str, ...]] = {"fp8": ("vllm", "sglang", "tgi")}
"""Formats an engine makes from 16-bit weights at load time (vLLM/SGLang --quantization fp8,
TGI --quantize fp8), by the engines that do."""

ORIGIN_NOTE: dict[Origin, str] = {
    "native": "the vendor's release",
    "official": "a vendor release",
    "community": "a community release",
    "runtime": "quantized by the engine at load",
    "convert": "needs a conversion first",
}


@dataclass(frozen=True)
class Checkpoint:
    """Weights in one format, where they come from, and the repository that holds them."""

    fmt: WeightFormat
    origin: Origin
    repo: str | None
    """Hugging Face repo or Ollama tag; None where none is catalogued."""

    @property
    def label(self) -> str:
        return f"{self.fmt.key} ({ORIGIN_NOTE[self.origin]})"


def native_format(model: Model) -> WeightFormat:
    """The precision of the model's main repository (BF16 unless a vendor release says other)."""
    for q in model.quantized:
        if q.official and q.repo == model.hf_repo and q.format in CATALOG_FORMATS:
            return FORMATS[CATALOG_FORMATS[q.format]]
    return FORMATS["bf16"]


def _provides(release: str, key: str) -> bool:
    """A release of catalog format ``release`` holds ``key`` weights (a bare ``gguf`` release
    is a repository of several llama.cpp quants)."""
    return CATALOG_FORMATS.get(release) == key or (release == "gguf" and key.startswith("gguf-"))


def _released(model: Model, key: str) -> tuple[Origin, str] | None:
    """The best catalogued release of ``key`` weights: a vendor one before a community one."""
    found = [
        (q.official, q.repo)
        for q in model.quantized
        if _provides(q.format, key) and q.repo and "/" in q.repo
    ]
    if not found:
        return None
    official, repo = max(found, key=lambda f: f[0])
    return ("official" if official else "community"), repo


def _checkpoint(model: Model, fmt: WeightFormat, engine_id: str) -> Checkpoint:
    native = native_format(model)
    if fmt == native:
        return Checkpoint(fmt, "native", model.hf_repo)
    released = _released(model, fmt.key)
    if released is not None:
        return Checkpoint(fmt, released[0], released[1])
    if engine_id in RUNTIME_QUANT.get(fmt.key, ()) and native.bits == 16:
        return Checkpoint(fmt, "runtime", model.hf_repo)
    return Checkpoint(fmt, "convert", None)


def checkpoints(model: Model, engine_id: str) -> list[Checkpoint]:
    """What ``engine_id`` can serve of ``model``: the native weights first, then each lossier
    format in quality order. 16-bit formats are not offered below a lower-precision native
    release (they would only up-cast it); a vendor's own layout (MXFP4, Meta's FP8) only where
    a release ships it."""
    native = native_format(model)
    start = QUALITY_ORDER.index(native.key) if native.key in QUALITY_ORDER else 0
    found = []
    for key in QUALITY_ORDER[start:]:
        fmt = FORMATS[key]
        if engine_id not in fmt.engines:
            continue
        checkpoint = _checkpoint(model, fmt, engine_id)
        if fmt.release_only and checkpoint.origin not in ("native", "official", "community"):
            continue
        found.append(checkpoint)
    return sorted(found, key=lambda c: c.origin != "native")
