"""The static cache allocates exactly what the planner's KV formula says."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from modelyard.catalog import Architecture, cached_catalog  # noqa: E402
from modelyard.measure.kvcache import allocate_cache  # noqa: E402
from modelyard.plan import kv_bytes_per_sequence  # noqa: E402


@pytest.mark.parametrize("context", [3, 4, 9])
def test_tiny_cache_bytes_equal_planner_formula(tiny: Architecture, context: int) -> None:
    cache = allocate_cache(tiny, 2, context, torch.bfloat16, "cpu")
    assert cache.nbytes == 2 * kv_bytes_per_sequence(tiny, context, "bf16")


@pytest.mark.parametrize(
    "model_id", ["llama-3.1-8b-instruct", "qwen3-30b-a3b", "deepseek-v3", "gemma-3-27b-it"]
)
def test_catalog_cache_bytes_equal_planner_formula(model_id: str) -> None:
    arch = cached_catalog().models[model_id].architecture
    assert arch is not None
    cache = allocate_cache(arch, 8, 8192, torch.bfloat16, "meta")
    assert cache.nbytes == 8 * kv_bytes_per_sequence(arch, 8192, "bf16")


def test_local_ring_keeps_the_newest_tokens() -> None:
    arch = Architecture.model_validate(
        {
            "ref": {"source": "test:tiny"},
            "model_type": "tiny",
            "num_hidden_layers": 1,
            "hidden_size": 8,
            "num_attention_heads": 1,
            "num_key_value_heads": 1,
            "head_dim": 1,
            "intermediate_size": 8,
            "vocab_size": 8,
            "max_position_embeddings": 64,
            "sliding_window": 4,
            "local_attention": "sliding",
            "layer_pattern": "L",
        }
    )
    layer = allocate_cache(arch, 1, 16, torch.float32, "cpu").layers[0]
    positions = torch.arange(6, dtype=torch.float32).view(1, 1, 6, 1)
    layer.fill(positions, positions)
    assert layer.keys.flatten().tolist() == [4.0, 5.0, 2.0, 3.0]
    assert layer.visible(torch.tensor(5)).all()
