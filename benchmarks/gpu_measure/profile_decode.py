"""Decode-step time of one model, compiled and graphed, with split-cache vs SDPA attention.

Usage (GPU machine): python3 benchmarks/gpu_measure/profile_decode.py MODEL LAYERS B:CTX ...
(LAYERS 0 builds them all)
"""

from __future__ import annotations

import sys

import torch

from modelyard.catalog import cached_catalog, find_model
from modelyard.measure import allocate_cache, build_model, cuda_ms, graphed


def step_ms(model: torch.nn.Module, batch: int, context: int, split: bool) -> float:
    for block in model.blocks:
        block.attn.split_kv = split
    cache = allocate_cache(model.arch, batch, context, torch.bfloat16, "cuda")
    tokens = torch.randint(model.arch.vocab_size, (batch,), device="cuda")
    pos = torch.tensor(context - 1, device="cuda")
    step = lambda: model.decode(tokens, pos, cache)  # noqa: E731
    step()
    return cuda_ms(graphed(step), 50)


def main(model_id: str, layers: int, points: list[str]) -> None:
    arch = find_model(cached_catalog(), model_id).architecture
    model = build_model(arch, "cuda", torch.bfloat16, layers or None)
    model.compile_decode()
    with torch.no_grad():
        for point in points:
            batch, context = (int(x) for x in point.split(":"))
            sdpa, split = (step_ms(model, batch, context, s) for s in (False, True))
            print(f"{model_id} B={batch} ctx={context}: sdpa {sdpa:.3f} ms, split {split:.3f} ms")
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
