"""A CPU-only host as llama.cpp and Ollama use it: physical cores, the best matrix instruction
set, RAM and its bandwidth.

Parsers take text (``/proc/cpuinfo``) so captured output can be checked anywhere. Bandwidth
cannot be read without root (DMI), so it comes from the user (``--ram-bandwidth``, ideally a
measured STREAM or mbw figure) or falls back to the catalog's ``cpu`` entry, and the basis
says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelyard.errors import PlanError

CPUINFO = Path("/proc/cpuinfo")
ISA_ORDER = ("amx", "avx512", "avx2", "baseline")
"""Instruction-set levels from best to worst, as the CPU speed factors are keyed."""


@dataclass(frozen=True)
class CpuInfo:
    """What /proc/cpuinfo says about the processor."""

    name: str
    cores: int
    """Physical cores (hyper-threads not counted: llama.cpp's default thread count)."""
    threads: int
    """Logical CPUs."""
    flags: frozenset[str]


@dataclass(frozen=True)
class CpuHost:
    """The CPU a plan runs on."""

    name: str
    cores: int
    isa: str
    """Best level of ISA_ORDER the flags show."""
    flags: tuple[str, ...]
    """The matrix-relevant flags found (avx2, avx512f, avx512_vnni, avx_vnni, amx_tile...)."""
    bandwidth_gbps: float
    bandwidth_basis: str

    @property
    def label(self) -> str:
        return f"{self.name}, {self.cores} cores, {self.isa.upper()}"


_RELEVANT = (
    "avx2",
    "fma",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


def parse_cpuinfo(text: str) -> CpuInfo:
    """The model name, core and thread counts and flags of /proc/cpuinfo text (x86 Linux).

    Physical cores are distinct (physical id, core id) pairs; without those fields (some
    virtual machines, other architectures) every logical CPU counts as a core.

    Raises:
        ValueError: no processor entry in ``text``.
    """
    blocks = [b for b in text.split("\n\n") if b.strip()]
    entries = [_fields(b) for b in blocks]
    entries = [e for e in entries if "processor" in e]
    if not entries:
        raise ValueError("no 'processor' entry: not /proc/cpuinfo text")
    first = entries[0]
    name = first.get("model name") or first.get("Processor") or first.get("cpu model") or "CPU"
    pairs = {(e.get("physical id", "0"), e["core id"]) for e in entries if "core id" in e}
    flags = frozenset((first.get("flags") or first.get("Features") or "").split())
    return CpuInfo(" ".join(name.split()), len(pairs) or len(entries), len(entries), flags)


def _fields(block: str) -> dict[str, str]:
    fields = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def isa_level(flags: frozenset[str] | set[str]) -> str:
    """The best matrix instruction set llama.cpp's CPU backend can use with ``flags``."""
    if {"amx_tile", "amx_int8"} <= flags:
        return "amx"
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags:
        return "avx2"
    return "baseline"


def cpu_host(info: CpuInfo, bandwidth_gbps: float, bandwidth_basis: str) -> CpuHost:
    """The host ``info`` describes, with its RAM bandwidth and where that figure comes from.

    Raises:
        PlanError: a bandwidth that is not positive.
    """
    if not bandwidth_gbps > 0:
        raise PlanError(f"--ram-bandwidth {bandwidth_gbps:g}: GB/s, above 0")
    relevant = tuple(f for f in _RELEVANT if f in info.flags)
    return CpuHost(
        info.name, info.cores, isa_level(info.flags), relevant, bandwidth_gbps, bandwidth_basis
    )


def detect_cpu(path: Path | None = None) -> CpuInfo | None:
    """This machine's CPU from ``path`` (``CPUINFO``, read when called); None where the file is
    missing or unreadable."""
    try:
        return parse_cpuinfo((path or CPUINFO).read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return None


def generic_cpu(cores: int | None) -> CpuInfo:
    """A CPU described by nothing but a core count (no /proc/cpuinfo, e.g. macOS): AVX2 is
    assumed, as every x86 CPU of the last decade has it."""
    count = cores or 8
    return CpuInfo(f"CPU ({count} cores, AVX2 assumed)", count, count, frozenset({"avx2"}))
