"""GPUs, API offers and licenses: entries validate, lookups find the right part, policy flags."""

from __future__ import annotations

import re

import pytest

from modelyard.catalog import find_api, find_gpu, load_catalog
from modelyard.errors import CatalogError
from modelyard.policy import Policy, license_reasons

CATALOG = load_catalog()

# Names as `nvidia-smi --query-gpu=name` and rocm-smi print them, with the entry each must hit.
SMI_NAMES = {
    "NVIDIA H100 80GB HBM3": "h100-sxm",
    "NVIDIA H100 PCIe": "h100-pcie",
    "NVIDIA H100 NVL": "h100-nvl",
    "NVIDIA H200": "h200",
    "NVIDIA B200": "b200",
    "NVIDIA A100-SXM4-80GB": "a100-80g-sxm",
    "NVIDIA A100-SXM4-40GB": "a100-40g-sxm",
    "NVIDIA A100 80GB PCIe": "a100-80g-pcie",
    "NVIDIA A100-PCIE-40GB": "a100-40g-pcie",
    "NVIDIA GeForce RTX 3090": "rtx-3090",
    "NVIDIA GeForce RTX 4090": "rtx-4090",
    "NVIDIA GeForce RTX 5090": "rtx-5090",
    "NVIDIA L4": "l4",
    "NVIDIA L40S": "l40s",
    "NVIDIA A10G": "a10g",
    "NVIDIA A10": "a10",
    "AMD Instinct MI300X": "mi300x",
    "AMD Instinct MI300X VF": "mi300x",
}

LICENSE_IDS = {
    "mit", "apache-2.0", "llama3.1", "llama3.2", "llama3.3", "llama4", "qwen", "gemma",
    "cc-by-nc-4.0", "mrl", "mnpl", "deepseek", "kimi-modified-mit",
}  # fmt: skip


@pytest.mark.parametrize(("name", "gpu_id"), SMI_NAMES.items())
def test_nvidia_smi_names_find_their_part(name: str, gpu_id: str) -> None:
    assert find_gpu(CATALOG, name).id == gpu_id


@pytest.mark.parametrize("name", SMI_NAMES)
def test_match_patterns_are_mutually_exclusive(name: str) -> None:
    hits = [
        g.id
        for g in CATALOG.gpus.values()
        if any(re.search(p, name, re.IGNORECASE) for p in g.match)
    ]
    assert len(hits) <= 1, f"{name!r} matches {hits}"


def test_h100_sxm_and_pcie_are_told_apart() -> None:
    sxm = find_gpu(CATALOG, "NVIDIA H100 80GB HBM3")
    pcie = find_gpu(CATALOG, "NVIDIA H100 PCIe")
    assert (sxm.bandwidth_gbps, sxm.bf16_tflops) == (3350, 989)
    assert (pcie.bandwidth_gbps, pcie.bf16_tflops) == (2000, 756)
    assert sxm.memory_gib == pytest.approx(81559 / 1024, abs=0.01)


@pytest.mark.parametrize(
    ("alias", "gpu_id"),
    [
        ("h100", "h100-sxm"),
        ("h100-sxm", "h100-sxm"),
        ("H100 PCIe", "h100-pcie"),
        ("a100-80g", "a100-80g-sxm"),
        ("a100-40g", "a100-40g-sxm"),
        ("4090", "rtx-4090"),
        ("m3-max", "apple-m3-max-128g"),
        ("cpu", "cpu"),
    ],
)
def test_aliases(alias: str, gpu_id: str) -> None:
    assert find_gpu(CATALOG, alias).id == gpu_id


def test_unknown_gpu_suggests() -> None:
    with pytest.raises(CatalogError, match=r"unknown GPU 'h100-sxn'; did you mean h100-sxm"):
        find_gpu(CATALOG, "h100-sxn")


def test_dense_figures_are_not_sparse_ones() -> None:
    # Datasheets print 2:4-sparsity peaks; dense FP8 is 2x dense BF16 wherever both exist
    for gpu in CATALOG.gpus.values():
        if gpu.bf16_tflops and gpu.fp8_tflops:
            assert gpu.fp8_tflops == pytest.approx(2 * gpu.bf16_tflops, rel=0.02), gpu.id
    assert CATALOG.gpus["l40s"].fp8_tflops == 733


def test_unified_memory_entries() -> None:
    apple = [g for g in CATALOG.gpus.values() if g.vendor == "apple"]
    assert {g.id for g in apple} >= {
        "apple-m2-ultra-192g",
        "apple-m3-max-128g",
        "apple-m4-max-128g",
    }
    assert all(g.unified_memory and g.usable_fraction == 0.75 for g in apple)
    assert CATALOG.gpus["cpu"].memory_gib == 64


def test_every_price_has_a_dated_source() -> None:
    for gpu in CATALOG.gpus.values():
        for price in gpu.prices:
            assert CATALOG.sources[price.ref.source].date is not None, (gpu.id, price)


def test_seed_gpu_prices_are_recorded() -> None:
    def seed_price(gpu_id: str) -> float:
        prices = CATALOG.gpus[gpu_id].prices
        return next(p.usd_per_hour for p in prices if p.ref.source.startswith("seed:"))

    assert seed_price("h100-pcie") == 1.99
    assert seed_price("h100-sxm") == 2.69
    assert seed_price("l4") == 0.44
    assert seed_price("a100-80g-pcie") == 1.19
    assert seed_price("b200") == 5.98
    assert seed_price("a100-80g-sxm") == 3.50


def test_license_ids_are_exactly_the_agreed_ones() -> None:
    assert set(CATALOG.licenses) == LICENSE_IDS


def _passing(policy: Policy) -> set[str]:
    return {i for i, lic in CATALOG.licenses.items() if not license_reasons(lic, policy)}


def test_commercial_policy_excludes_non_commercial_licenses() -> None:
    assert LICENSE_IDS - _passing(Policy(license="commercial")) == {"cc-by-nc-4.0", "mrl", "mnpl"}


def test_permissive_policy_keeps_only_unencumbered_licenses() -> None:
    assert _passing(Policy(license="permissive")) == {"mit", "apache-2.0", "kimi-modified-mit"}
    assert _passing(Policy(license="osi")) == {"mit", "apache-2.0"}


def test_a_billion_users_excludes_llama_and_qwen() -> None:
    excluded = LICENSE_IDS - _passing(Policy(monthly_active_users=10**9))
    assert excluded == {"llama3.1", "llama3.2", "llama3.3", "llama4", "qwen"}
    assert not license_reasons(CATALOG.licenses["qwen"], Policy(monthly_active_users=10**7))


def test_only_pre_3_1_llama_licenses_banned_training_on_outputs() -> None:
    for lic_id in ("llama3.1", "llama3.2", "llama3.3", "llama4"):
        lic = CATALOG.licenses[lic_id]
        assert not lic.restricts_training_other_models
        assert lic.attribution and "Built with Llama" in lic.attribution


@pytest.mark.parametrize(
    ("offer_id", "prices"),
    [
        ("openai/gpt-4o@seed-001", (2.50, 10.00)),
        ("anthropic/claude-sonnet@seed-001", (3.00, 15.00)),
        ("together/llama-70b@seed-001", (0.54, 0.54)),
        ("together/deepseek-v3@seed-001", (0.30, 0.90)),
        ("groq/llama-70b@seed-001", (0.59, 0.79)),
        ("fireworks/llama-70b@seed-001", (0.20, 0.20)),
        ("deepseek/deepseek-chat@seed-002-table", (0.07, 0.14)),
        ("deepseek/deepseek-chat@seed-002-text", (0.07, 1.10)),
        ("google/gemini-2.0-flash@seed-002", (1.25, 5.00)),
        ("together/llama-4-maverick@seed-003", (0.19, 0.85)),
    ],
)
def test_seed_api_prices_are_kept_as_stated(offer_id: str, prices: tuple[float, float]) -> None:
    offer = CATALOG.apis[offer_id]
    assert (offer.input_per_mtok, offer.output_per_mtok) == prices
    assert offer.ref.confidence == "low"


def test_hosted_open_models_link_to_catalog_models() -> None:
    groq = find_api(CATALOG, "llama-3.3-70b-versatile")
    assert groq.model_id == "llama-3.3-70b-instruct"
    assert groq.base_url == "https://api.groq.com/openai/v1"
    for offer in CATALOG.apis.values():
        assert offer.model_id is None or offer.model_id in CATALOG.models
        if offer.open_weights:
            assert offer.base_url, offer.id
