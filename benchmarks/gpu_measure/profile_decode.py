"""Where a decode step's time goes: kernels by time; eager, graphed, and compiled + graphed.

Usage (GPU machine): python3 benchmarks/gpu_measure/profile_decode.py MODEL BATCH CONTEXT
"""

from __future__ import annotations

import sys

import torch
from torch.profiler import ProfilerActivity, profile

from modelyard.catalog import cached_catalog, find_model
from modelyard.measure.kvcache import allocate_cache
from modelyard.measure.model import build_model
from modelyard.measure.timing import cuda_ms, graphed


def main(model_id: str, batch: int, context: int) -> None:
    arch = find_model(cached_catalog(), model_id).architecture
    model = build_model(arch, "cuda", torch.bfloat16)
    cache = allocate_cache(model.arch, batch, context, torch.bfloat16, "cuda")
    tokens = torch.randint(arch.vocab_size, (batch,), device="cuda")
    pos = torch.tensor(context - 1, device="cuda")
    with torch.no_grad():
        step = lambda: model.decode(tokens, pos, cache)  # noqa: E731
        print(f"eager  {cuda_ms(step, 20):.3f} ms")
        print(f"graph  {cuda_ms(graphed(step), 50):.3f} ms")
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            torch.cuda.synchronize()
        events = [e for e in prof.events() if e.device_type.name == "CUDA"]
        busy = sum(e.device_time for e in events) / 1e3
        print(f"kernels {len(events)}  busy {busy:.3f} ms")
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25))
        model.compile_decode()
        step()
        print(f"compiled+graph  {cuda_ms(graphed(step), 50):.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
