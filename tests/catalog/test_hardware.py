"""Local hardware detection: nvidia-smi and /proc/meminfo text parsed and matched to the catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.catalog import load_catalog
from modelyard.catalog.hardware import (
    NVIDIA_SMI_QUERY,
    Hardware,
    HostMemory,
    detect,
    local_devices,
    match_gpus,
    parse_meminfo,
    parse_nvidia_smi,
)

CATALOG = load_catalog()

# `nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version
#  --format=csv,noheader,nounits` on a mixed host (names and totals as real cards report them)
SMI_NOUNITS = """\
0, NVIDIA H100 80GB HBM3, 81559, 81004, 580.159.04
1, NVIDIA H100 PCIe, 81559, 80411, 580.159.04
2, NVIDIA A100-SXM4-80GB, 81920, [N/A], 580.159.04
"""

# The same query with --format=csv (header line, units)
SMI_WITH_HEADER = """\
index, name, memory.total [MiB], memory.free [MiB], driver_version
0, NVIDIA L4, 23034 MiB, 22566 MiB, 595.91.07
"""

MEMINFO = """\
MemTotal:       32780412 kB
MemFree:         1123456 kB
MemAvailable:   24681012 kB
Buffers:          123456 kB
HugePages_Total:       0
"""


def test_parse_nvidia_smi_noheader_nounits() -> None:
    gpus = parse_nvidia_smi(SMI_NOUNITS)
    assert [(g.index, g.name, g.memory_mib) for g in gpus] == [
        (0, "NVIDIA H100 80GB HBM3", 81559),
        (1, "NVIDIA H100 PCIe", 81559),
        (2, "NVIDIA A100-SXM4-80GB", 81920),
    ]
    assert gpus[0].free_mib == 81004 and gpus[2].free_mib is None
    assert gpus[0].driver == "580.159.04"


def test_parse_nvidia_smi_with_header_and_units() -> None:
    (gpu,) = parse_nvidia_smi(SMI_WITH_HEADER)
    assert (gpu.name, gpu.memory_mib, gpu.free_mib) == ("NVIDIA L4", 23034, 22566)


def test_parse_nvidia_smi_rejects_other_shapes() -> None:
    with pytest.raises(ValueError, match="expected 5 comma-separated fields"):
        parse_nvidia_smi("NVIDIA L4, 23034\n")
    with pytest.raises(ValueError, match="'lots' is not a MiB count"):
        parse_nvidia_smi("0, NVIDIA L4, lots, 1, 595.91.07\n")


def test_reported_gpus_match_catalog_entries() -> None:
    found = match_gpus(CATALOG, parse_nvidia_smi(SMI_NOUNITS))
    assert [g.catalog_id for g in found] == ["h100-sxm", "h100-pcie", "a100-80g-sxm"]
    assert found[0].memory_gib == 79.65 and found[2].free_gib is None


def test_unknown_gpu_keeps_its_name_and_a_hint() -> None:
    (gpu,) = match_gpus(CATALOG, parse_nvidia_smi("0, NVIDIA H20, 97871, 97000, 570.1\n"))
    assert gpu.catalog_id is None
    assert gpu.note and "did you mean" in gpu.note


def test_parse_meminfo() -> None:
    memory = parse_meminfo(MEMINFO)
    assert memory == HostMemory(total_gib=31.26, available_gib=23.54)
    with pytest.raises(ValueError, match="MemAvailable"):
        parse_meminfo("MemTotal: 1024 kB\n")


def test_detect_without_nvidia_smi_reports_cpu_and_ram(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    missing = ("modelyard-no-such-tool", *NVIDIA_SMI_QUERY[1:])
    hardware = detect(CATALOG, smi_command=missing, meminfo=meminfo)
    assert hardware.gpus == [] and "not found" in hardware.gpu_probe
    assert hardware.cpu_count == os.cpu_count()
    assert hardware.memory == HostMemory(total_gib=31.26, available_gib=23.54)
    (cpu,) = local_devices(hardware, CATALOG)
    assert (cpu.id, cpu.memory_gib) == ("cpu", 23.54)


def test_detect_survives_a_failing_driver(tmp_path: Path) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the "
        'NVIDIA driver." >&2\nexit 9\n'
    )
    smi.chmod(0o755)
    hardware = detect(CATALOG, smi_command=(str(smi),), meminfo=tmp_path / "absent")
    assert hardware.gpus == [] and hardware.memory is None
    assert "exited 9: NVIDIA-SMI has failed" in hardware.gpu_probe


def test_local_devices_use_reported_memory() -> None:
    found = match_gpus(CATALOG, parse_nvidia_smi(SMI_WITH_HEADER))
    (l4,) = local_devices(Hardware(gpus=found), CATALOG)
    assert (l4.id, l4.memory_gib, l4.bandwidth_gbps) == ("l4", 22.49, 300)
