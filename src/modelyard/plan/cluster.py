"""The hardware a plan runs on: N identical GPUs, parsed from '2xA100-80G' style text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.catalog.loader import Catalog
from modelyard.catalog.lookup import find_gpu
from modelyard.catalog.schema import GPU
from modelyard.errors import PlanError

_COUNT = re.compile(r"^\s*(\d+)\s*[x×*]\s*(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Cluster:
    """``count`` GPUs of one kind in one node."""

    gpu: GPU
    count: int = 1

    @property
    def usable_gib(self) -> float:
        """Memory one GPU lends a model (unified memory keeps a share for the OS)."""
        return self.gpu.memory_gib * self.gpu.usable_fraction

    @property
    def label(self) -> str:
        return f"{self.count}×{self.gpu.name}"

    def hourly_usd(self) -> float | None:
        """Cheapest on-demand price for the whole cluster, None when the catalog has none."""
        prices = [p.usd_per_hour for p in self.gpu.prices if p.tier == "on_demand"]
        prices = prices or [p.usd_per_hour for p in self.gpu.prices]
        return min(prices) * self.count if prices else None


def parse_cluster(catalog: Catalog, text: str) -> Cluster:
    """'2xA100-80G', '8×H200', 'h100' -> Cluster; unknown GPUs get a did-you-mean."""
    match = _COUNT.match(text)
    count, name = (int(match.group(1)), match.group(2)) if match else (1, text)
    if count < 1:
        raise PlanError(f"--gpu {text!r}: GPU count must be at least 1")
    return Cluster(find_gpu(catalog, name.strip()), count)


def detect_cluster(catalog: Catalog) -> tuple[Cluster, str]:
    """This machine's GPUs (nvidia-smi) or its CPU and RAM, with what the probe said."""
    from modelyard.catalog.hardware import detect, local_devices

    hardware = detect(catalog)
    devices = local_devices(hardware, catalog)
    return Cluster(devices[0], len(devices)), hardware.gpu_probe


def parse_amount(text: str) -> float:
    """'20M' -> 2e7, '1.5B' -> 1.5e9, '300k' -> 3e5 (decimal units, as traffic is counted)."""
    raw = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}.get(raw[-1:], 1.0)
    try:
        value = float(raw[:-1] if scale != 1.0 else raw) * scale
    except ValueError:
        raise PlanError(f"{text!r} is not an amount (write e.g. 20M, 1.5B, 300k)") from None
    if value < 0:
        raise PlanError(f"{text!r}: must not be negative")
    return value


def parse_split(text: str) -> tuple[float, float, float]:
    """'90/8/2' -> (0.9, 0.08, 0.02): open / API / fine-tuned shares in percent."""
    parts = text.replace(",", "/").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise PlanError(
            f"--hybrid {text!r}: write OPEN/API/FINETUNED percents, e.g. 90/8/2"
        ) from None
    if len(values) != 3 or abs(sum(values) - 100) > 1e-6 or min(values) < 0:
        raise PlanError(f"--hybrid {text!r}: three percents adding up to 100, e.g. 90/8/2")
    return values[0] / 100, values[1] / 100, values[2] / 100
