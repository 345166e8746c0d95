"""What this machine has: NVIDIA GPUs as nvidia-smi reports them, else CPU cores and RAM.

Parsers take text so captured tool output can be checked without running the tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.catalog.loader import Catalog, iter_refs
from modelyard.catalog.lookup import find_gpu
from modelyard.catalog.schema import GPU, Price, Source
from modelyard.errors import CatalogError

NVIDIA_SMI_QUERY: tuple[str, ...] = (
    "nvidia-smi",
    "--query-gpu=index,name,memory.total,memory.free,driver_version",
    "--format=csv,noheader,nounits",
)
"""The query whose CSV ``parse_nvidia_smi`` reads (units and a header line are tolerated too)."""
MEMINFO = Path("/proc/meminfo")
SMI_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SmiGpu:
    """One row of nvidia-smi's CSV."""

    index: int
    name: str
    memory_mib: int
    free_mib: int | None
    driver: str | None


@dataclass(frozen=True)
class DetectedGpu:
    """A local GPU and the catalog entry it was matched to (JSON field names are stable)."""

    index: int
    name: str
    memory_gib: float
    free_gib: float | None
    driver: str | None
    catalog_id: str | None
    """Matching catalog GPU; None when the name matches no entry (see ``note``)."""
    note: str | None = None


@dataclass(frozen=True)
class HostMemory:
    """System RAM from /proc/meminfo."""

    total_gib: float
    available_gib: float


@dataclass(frozen=True)
class Hardware:
    """Everything `yard gpus detect` found."""

    gpus: list[DetectedGpu] = field(default_factory=list)
    cpu_count: int | None = None
    memory: HostMemory | None = None
    gpu_probe: str = ""
    """What the GPU probe did: how many GPUs nvidia-smi listed, or why it listed none."""


def parse_nvidia_smi(text: str) -> list[SmiGpu]:
    """Rows of ``nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version``.

    Raises:
        ValueError: naming the line that does not have that shape.
    """
    gpus = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if not line.strip() or cells[0].lower() == "index":
            continue
        if len(cells) != 5:
            raise ValueError(f"nvidia-smi line {line!r}: expected 5 comma-separated fields")
        gpus.append(
            SmiGpu(
                index=int(cells[0]),
                name=cells[1],
                memory_mib=_mib(cells[2], line),
                free_mib=_mib(cells[3], line) if _known(cells[3]) else None,
                driver=cells[4] if _known(cells[4]) else None,
            )
        )
    return gpus


def _known(cell: str) -> bool:
    return cell not in ("", "[N/A]", "N/A", "[Not Supported]")


def _mib(cell: str, line: str) -> int:
    number = cell.removesuffix("MiB").strip()
    if not number.isdigit():
        raise ValueError(f"nvidia-smi line {line!r}: {cell!r} is not a MiB count")
    return int(number)


def parse_meminfo(text: str) -> HostMemory:
    """MemTotal and MemAvailable from /proc/meminfo text (kB values).

    Raises:
        ValueError: when either field is missing.
    """
    fields = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[key.strip()] = int(parts[0])
    missing = [k for k in ("MemTotal", "MemAvailable") if k not in fields]
    if missing:
        raise ValueError(f"meminfo lacks {', '.join(missing)}")
    return HostMemory(
        total_gib=round(fields["MemTotal"] / 2**20, 2),
        available_gib=round(fields["MemAvailable"] / 2**20, 2),
    )


def match_gpus(catalog: Catalog, gpus: Sequence[SmiGpu]) -> list[DetectedGpu]:
    """Each reported GPU with the catalog entry its name matches (None plus a hint if none)."""
    return [_match(catalog, g) for g in gpus]


def _match(catalog: Catalog, gpu: SmiGpu) -> DetectedGpu:
    try:
        catalog_id, note = find_gpu(catalog, gpu.name).id, None
    except CatalogError as exc:
        catalog_id, note = None, str(exc)
    return DetectedGpu(
        index=gpu.index,
        name=gpu.name,
        memory_gib=round(gpu.memory_mib / 1024, 2),
        free_gib=round(gpu.free_mib / 1024, 2) if gpu.free_mib is not None else None,
        driver=gpu.driver,
        catalog_id=catalog_id,
        note=note,
    )


def detect(
    catalog: Catalog,
    smi_command: Sequence[str] = NVIDIA_SMI_QUERY,
    meminfo: Path = MEMINFO,
) -> Hardware:
    """Probe this machine: GPUs through ``smi_command``, RAM from ``meminfo``, CPU count.

    Never raises for a missing or failing tool; ``gpu_probe`` says what happened instead.
    """
    gpus, probe = _probe_gpus(catalog, smi_command)
    return Hardware(
        gpus=gpus, cpu_count=os.cpu_count(), memory=_read_meminfo(meminfo), gpu_probe=probe
    )


def _probe_gpus(catalog: Catalog, command: Sequence[str]) -> tuple[list[DetectedGpu], str]:
    tool = command[0]
    if shutil.which(tool) is None:
        return [], f"{tool} not found: no NVIDIA driver on this machine (CPU only)"
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"{tool} could not run: {exc}"
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[:1]
        return [], f"{tool} exited {done.returncode}: {reason[0] if reason else 'no output'}"
    try:
        gpus = match_gpus(catalog, parse_nvidia_smi(done.stdout))
    except ValueError as exc:
        return [], f"{tool} output not understood: {exc}"
    return gpus, f"{tool} listed {len(gpus)} GPU(s)"


def _read_meminfo(path: Path) -> HostMemory | None:
    try:
        return parse_meminfo(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def local_devices(hardware: Hardware, catalog: Catalog) -> list[GPU]:
    """Catalog entries for the detected GPUs, memory set to what each reports.

    With no matched GPU, the ``cpu`` entry sized to the available system RAM (when known).
    """
    matched = [
        catalog.gpus[g.catalog_id].model_copy(update={"memory_gib": g.memory_gib})
        for g in hardware.gpus
        if g.catalog_id is not None
    ]
    if matched:
        return matched
    cpu = catalog.gpus["cpu"]
    if hardware.memory is None:
        return [cpu]
    return [cpu.model_copy(update={"memory_gib": hardware.memory.available_gib})]


def list_gpus(catalog: Catalog, vendor: str | None = None) -> list[GPU]:
    """Catalog GPUs, optionally of one vendor, largest memory first."""
    gpus = [g for g in catalog.gpus.values() if vendor is None or g.vendor == vendor.lower()]
    return sorted(gpus, key=lambda g: (-g.memory_gib * g.usable_fraction, g.id))


def cheapest_price(gpu: GPU, tier: str | None = None) -> Price | None:
    """The lowest hourly price listed for ``gpu`` (in ``tier`` when given)."""
    prices = [p for p in gpu.prices if tier is None or p.tier == tier]
    return min(prices, key=lambda p: p.usd_per_hour, default=None)


def gpu_sources(gpu: GPU, catalog: Catalog) -> list[Source]:
    """Sources a GPU entry cites, in first-cited order."""
    seen: dict[str, Source] = {}
    for _path, ref in iter_refs(gpu):
        if ref.source in catalog.sources:
            seen.setdefault(ref.source, catalog.sources[ref.source])
    return list(seen.values())
