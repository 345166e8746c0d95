"""Timing and memory probes: prefill, decode steps (CUDA graphs on CUDA), resident and peak memory.

On CUDA a decode step is captured once in a CUDA graph over the static KV cache and timed with
CUDA events over replays: eager decoding of a small batch is bound by kernel launches, not by
the GPU. On CPU steps run eagerly and are timed with the wall clock; memory there is the sum
of tensor bytes (weights + cache), since CPU allocations are not tracked.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from modelyard.measure.kvcache import StaticKVCache
from modelyard.measure.model import Decoder, parameter_bytes

GIB = float(2**30)


def synchronize(device: str) -> None:
    """Wait for queued GPU work (no-op on CPU)."""
    if device == "cuda":
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    """Start a new peak-memory window."""
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def resident_bytes(model: Decoder, device: str) -> int:
    """Memory the built model holds: allocator bytes on CUDA, tensor bytes on CPU."""
    if device == "cuda":
        return torch.cuda.memory_allocated()
    return parameter_bytes(model)


def peak_bytes(model: Decoder, cache: StaticKVCache | None, device: str) -> int:
    """Peak since ``reset_peak`` on CUDA; weights plus cache bytes on CPU."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated()
    return parameter_bytes(model) + (cache.nbytes if cache is not None else 0)


def graphed(step: Callable[[], torch.Tensor]) -> Callable[[], None]:
    """Capture ``step`` in a CUDA graph (after warm-up on a side stream); return its replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


def cuda_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        run()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / repeats


def _wall_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) * 1e3 / repeats


def decode_step_ms(
    model: Decoder, cache: StaticKVCache, device: str, repeats: int
) -> tuple[float, bool]:
    """Mean time of one decode step with every sequence holding ``cache.context`` tokens.

    Returns the time and whether it came from CUDA-graph replays.
    """
    gen = torch.Generator(device=device).manual_seed(0)
    vocab = model.arch.vocab_size
    tokens = torch.randint(vocab, (cache.batch,), device=device, generator=gen)
    pos = torch.tensor(cache.context - 1, device=device)

    def step() -> torch.Tensor:
        return model.decode(tokens, pos, cache)

    with torch.no_grad():
        if device != "cuda":
            return _wall_ms(step, repeats), False
        step()  # a compiled step compiles here, outside the capture's side stream
        try:
            replay = graphed(step)
        except RuntimeError:
            # some kernels refuse capture; eager timing is still a (pessimistic) figure
            return cuda_ms(step, repeats), False
        return cuda_ms(replay, repeats), True


def prefill_ms(model: Decoder, cache: StaticKVCache, device: str, repeats: int) -> float:
    """Median time of a prefill pass over one prompt of ``cache.context`` tokens."""
    gen = torch.Generator(device=device).manual_seed(0)
    shape = (cache.batch, cache.context)
    prompt = torch.randint(model.arch.vocab_size, shape, device=device, generator=gen)
    times = []
    with torch.no_grad():
        model.prefill(prompt, cache)
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            model.prefill(prompt, cache)
            synchronize(device)
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)
