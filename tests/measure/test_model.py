"""The built decoder has the catalog's parameter count and a decode path that matches prefill."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from modelyard.catalog import Architecture, cached_catalog, count_params  # noqa: E402
from modelyard.measure.kvcache import allocate_cache  # noqa: E402
from modelyard.measure.model import build_model, parameter_count  # noqa: E402

from .conftest import TINY  # noqa: E402


def test_tiny_parameter_count_equals_catalog_formula(tiny: Architecture) -> None:
    model = build_model(tiny, "cpu", torch.float32)
    assert parameter_count(model) == count_params(tiny).decoder


def test_every_verified_catalog_model_builds_with_its_parameter_count() -> None:
    # the meta device allocates nothing, so even DeepSeek-V3 builds in a second
    for model in cached_catalog().models.values():
        if model.architecture is None:
            continue
        built = build_model(model.architecture, "meta", torch.bfloat16)
        expected = count_params(model.architecture)
        assert parameter_count(built) == expected.total - expected.extra, model.id


def test_layers_override_keeps_the_first_layers_exact_shapes() -> None:
    arch = cached_catalog().models["deepseek-v3"].architecture
    assert arch is not None
    built = build_model(arch, "meta", torch.bfloat16, layers=5)
    assert len(built.blocks) == 5
    kinds = [type(b.mlp).__name__ for b in built.blocks]
    assert kinds == ["MLP", "MLP", "MLP", "MoE", "MoE"]
    assert built.blocks[3].mlp.up.shape == (256, 2 * 2048, 7168)


def _decode_after_prefill(arch: Architecture, tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of token T+1 from one prefill of T+1 tokens, and from prefill T + one decode step."""
    torch.manual_seed(0)
    model = build_model(arch, "cpu", torch.float32)
    prompt = torch.randint(arch.vocab_size, (2, tokens + 1))
    with torch.no_grad():
        full = model.prefill(prompt, allocate_cache(arch, 2, tokens + 1, torch.float32, "cpu"))
        cache = allocate_cache(arch, 2, tokens + 1, torch.float32, "cpu")
        model.prefill(prompt[:, :tokens], cache)
        step = model.decode(prompt[:, tokens], torch.tensor(tokens), cache)
    return full, step


@pytest.mark.parametrize("tokens", [3, 9])
def test_decode_step_matches_prefill(tiny: Architecture, tokens: int) -> None:
    # 9 tokens overflow the local window of 4: the ring cache and the prefill mask must agree
    full, step = _decode_after_prefill(tiny, tokens)
    torch.testing.assert_close(step, full, rtol=1e-4, atol=1e-4)


def test_local_layers_see_less_than_global_ones() -> None:
    sliding = TINY["sliding"]
    local, _ = _decode_after_prefill(sliding, 9)
    everywhere_global = sliding.model_copy(update={"layer_pattern": "G"})
    global_, _ = _decode_after_prefill(everywhere_global, 9)
    assert not torch.allclose(local, global_, atol=1e-3)


def test_gathered_experts_equal_grouped_gemm() -> None:
    arch = TINY["moe"]
    model = build_model(arch, "cpu", torch.float32)
    moe = model.blocks[1].mlp
    x = torch.randn(5, 3, arch.hidden_size)
    with torch.no_grad():
        moe.kernel = "grouped_mm"
        grouped = moe(x)
        moe.kernel = "gather_bmm"
        gathered = moe(x)
    torch.testing.assert_close(grouped, gathered, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["sliding", "moe"])
def test_compiled_decode_step_equals_the_eager_one(kind: str) -> None:
    # the eager backend traces the blocks through dynamo without a C++ compiler, so CPU CI
    # checks that the compiled decode path computes what the eager one does (bf16, as on
    # the GPU: the grouped GEMM's traced form takes bf16 only)
    arch = TINY[kind]
    model = build_model(arch, "cpu", torch.bfloat16)
    prompt = torch.randint(arch.vocab_size, (2, 6))
    cache = allocate_cache(arch, 2, 8, torch.bfloat16, "cpu")
    with torch.no_grad():
        model.prefill(prompt, cache)
        eager = model.decode(prompt[:, -1], torch.tensor(6), cache)
        graphs: list[torch.fx.GraphModule] = []
        model.compile_decode(backend=lambda gm, _: graphs.append(gm) or gm.forward)
        compiled = model.decode(prompt[:, -1], torch.tensor(6), cache)
    torch.testing.assert_close(compiled, eager, rtol=2e-2, atol=2e-2)
    # blocks share compiled code: one graph per kind of block, not one per layer
    kinds = {(type(b.mlp), w.window) for b, w in zip(model.blocks, cache.layers, strict=True)}
    assert 1 <= len(graphs) <= len(kinds) < len(model.blocks)


@pytest.mark.parametrize(("tokens", "visible"), [(1024, 700), (768, 768), (100, 37)])
def test_split_decode_attention_equals_sdpa(tokens: int, visible: int) -> None:
    from modelyard.measure.attention import decode_attend

    q, k = torch.randn(2, 3, 4, 16), torch.randn(2, 3, tokens, 16)
    v = torch.randn(2, 3, tokens, 8)
    mask = torch.arange(tokens) < visible
    sdpa = torch.nn.functional.scaled_dot_product_attention
    expected = sdpa(q, k, v, attn_mask=mask.view(1, 1, 1, -1))
    torch.testing.assert_close(decode_attend(q, k, v, mask), expected, rtol=1e-4, atol=1e-4)
