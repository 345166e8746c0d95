"""CPU-only hosts: what /proc/cpuinfo says, and the plans llama.cpp and Ollama get there."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.catalog import cached_catalog
from modelyard.errors import PlanError
from modelyard.plan.cpu import (
    CpuHost,
    cpu_host,
    detect_cpu,
    generic_cpu,
    isa_level,
    parse_cpuinfo,
)
from tests.plan.helpers import dep, model, plan


def _cpuinfo(name: str, flags: str, sockets: int, cores: int, threads_per_core: int) -> str:
    """/proc/cpuinfo text for ``sockets`` × ``cores`` × ``threads_per_core`` logical CPUs."""
    blocks, index = [], 0
    for socket in range(sockets):
        for core in range(cores):
            for _ in range(threads_per_core):
                blocks.append(
                    f"processor\t: {index}\nvendor_id\t: X\nmodel name\t: {name}\n"
                    f"physical id\t: {socket}\ncore id\t\t: {core}\nflags\t\t: {flags}\n"
                )
                index += 1
    return "\n".join(blocks)


SAPPHIRE = _cpuinfo(
    "Intel(R) Xeon(R) Platinum 8480+", "fpu avx2 fma avx512f avx512bw avx512_vnni amx_tile "
    "amx_int8 amx_bf16", 2, 56, 2,
)  # fmt: skip
GENOA = _cpuinfo("AMD EPYC 9654 96-Core Processor", "avx2 fma avx512f avx512_bf16", 1, 96, 2)
ZEN3 = _cpuinfo("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "avx2 fma", 1, 64, 2)
OLD = _cpuinfo("Intel(R) Core(TM)2 Duo", "sse4_1", 1, 2, 1)


@pytest.mark.parametrize(
    ("text", "cores", "threads", "isa"),
    [
        (SAPPHIRE, 112, 224, "amx"),
        (GENOA, 96, 192, "avx512"),
        (ZEN3, 64, 128, "avx2"),
        (OLD, 2, 2, "baseline"),
    ],
)
def test_parse_cpuinfo(text: str, cores: int, threads: int, isa: str) -> None:
    info = parse_cpuinfo(text)
    assert (info.cores, info.threads, isa_level(info.flags)) == (cores, threads, isa)
    assert "  " not in info.name


def test_vms_without_core_ids_count_every_cpu() -> None:
    text = "processor\t: 0\nmodel name\t: vCPU\nflags\t: avx2\n\nprocessor\t: 1\nflags\t: avx2\n"
    info = parse_cpuinfo(text)
    assert (info.name, info.cores, info.threads) == ("vCPU", 2, 2)


def test_arm_cpuinfo_has_features_not_flags() -> None:
    text = "processor\t: 0\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n"
    info = parse_cpuinfo(text)
    assert info.name == "CPU" and isa_level(info.flags) == "baseline"


def test_not_cpuinfo_is_refused() -> None:
    with pytest.raises(ValueError, match="processor"):
        parse_cpuinfo("MemTotal: 1 kB\n")


def test_amx_needs_the_int8_tiles() -> None:
    assert isa_level({"amx_tile", "avx512f"}) == "avx512"
    assert isa_level({"amx_tile", "amx_int8", "avx512f"}) == "amx"


def test_detect_reads_a_file_and_tolerates_none(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(GENOA, encoding="utf-8")
    found = detect_cpu(path)
    assert found is not None and found.cores == 96
    assert detect_cpu(tmp_path / "missing") is None
    (tmp_path / "junk").write_text("nothing", encoding="utf-8")
    assert detect_cpu(tmp_path / "junk") is None


def test_host_keeps_the_relevant_flags_and_refuses_no_bandwidth() -> None:
    host = cpu_host(parse_cpuinfo(SAPPHIRE), 307.2, "8-channel DDR5-4800")
    assert host.isa == "amx" and "amx_int8" in host.flags and "fpu" not in host.flags
    assert host.label == "Intel(R) Xeon(R) Platinum 8480+, 112 cores, AMX"
    with pytest.raises(PlanError, match="--ram-bandwidth"):
        cpu_host(parse_cpuinfo(ZEN3), 0.0, "x")


def test_generic_cpu_assumes_avx2() -> None:
    info = generic_cpu(None)
    assert info.cores == 8 and isa_level(info.flags) == "avx2"
    assert generic_cpu(12).cores == 12


def _host(gbps: float = 89.6, cores: int = 16, isa: str = "avx512") -> CpuHost:
    return CpuHost("test CPU", cores, isa, (), gbps, "test")


def test_gpu_engines_are_refused_on_a_cpu_host() -> None:
    for engine in ("vllm", "sglang", "tgi"):
        with pytest.raises(PlanError, match="needs a GPU"):
            dep("cpu", engine=engine)


def test_a_cpu_deployment_gets_a_default_host_from_the_catalog() -> None:
    d = dep("cpu", quant="gguf-q4_k_m", engine="llamacpp")
    assert d.host is not None and d.host.bandwidth_gbps == 89.6
    assert "catalog 'cpu' entry" in d.host.bandwidth_basis
    assert d.on_cpu and d.can_prefill and "GB/s RAM" in d.hardware
    gpu = dep("rtx-4090", quant="gguf-q4_k_m", engine="llamacpp")
    assert gpu.host is None and not gpu.on_cpu


CPU_MODELS = sorted(
    m.id
    for m in cached_catalog().models.values()
    if m.architecture is not None and (m.params_total.value if m.params_total else 0) < 40e9
)


@pytest.mark.parametrize("model_id", CPU_MODELS)
def test_cpu_plans_hold_the_model_in_ram(model_id: str) -> None:
    found = plan(model_id, "cpu", engine="llamacpp", host=_host())
    mem = found.memory
    assert mem.device == "RAM" and mem.gpu_layers == mem.layers and mem.offload_gib == 0
    assert all(r.name != "CUDA context" for r in mem.reserves)
    assert mem.basis[0].startswith("RAM:")
    assert found.prefill is not None and found.decode_single.tok_s_per_sequence > 0
    assert {r.engine for r in found.recipes} == {"llamacpp", "ollama"}
    assert "GB/s RAM" in found.cluster


def test_more_bandwidth_means_faster_decode_on_cpu() -> None:
    slow = plan("qwen3-8b", "cpu", engine="llamacpp", host=_host(60.0))
    fast = plan("qwen3-8b", "cpu", engine="llamacpp", host=_host(240.0))
    ratio = fast.decode_single.tok_s_per_sequence / slow.decode_single.tok_s_per_sequence
    assert ratio == pytest.approx(4.0, rel=0.05)


def test_more_cores_mean_faster_prefill_on_cpu() -> None:
    few = plan("qwen3-8b", "cpu", engine="llamacpp", host=_host(cores=4))
    many = plan("qwen3-8b", "cpu", engine="llamacpp", host=_host(cores=32))
    assert few.prefill is not None and many.prefill is not None
    assert many.prefill.tok_s == pytest.approx(8 * few.prefill.tok_s)


def test_a_model_too_big_for_ram_does_not_offload_to_itself() -> None:
    with pytest.raises(PlanError, match=r"\(in RAM\)"):
        plan("deepseek-v3", "cpu", engine="llamacpp", quant="gguf-q4_k_m", host=_host())


def test_cpu_speed_basis_cites_its_fits() -> None:
    found = plan("qwen3-8b", "cpu", engine="llamacpp", host=_host())
    basis = " ".join(found.decode_single.basis)
    assert "5995WX" in basis or "7950X" in basis
    assert model("qwen3-8b").id == found.model_id
