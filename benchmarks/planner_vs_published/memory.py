"""The planner's memory answers beside vLLM 0.19.0's own startup figures (llm-d-planner logs).

For each run: weights per GPU, KV pool, KV tokens, maximum concurrency at the run's
max_model_len, and the fit verdict (does the planner say it starts, and did it). Runs that
failed for reasons outside memory (another process on the GPU, a data-parallel launch error)
have no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from references import VllmRun, vllm_runs

from modelyard.catalog import cached_catalog, find_gpu, find_model
from modelyard.plan import Cluster, MemoryPlan, deploy, get_engine, plan_memory, weight_format

NOT_MEMORY = ("Free memory on device", "DP adjusted local rank")
"""Failures caused by the test rig (a GPU already in use, a launcher error), not by memory."""


@dataclass(frozen=True)
class MemoryRow:
    run: VllmRun
    weights_gib: float
    kv_pool_gib: float
    kv_tokens: int
    concurrency: float
    fits: bool
    warnings: list[str]

    def error(self, name: str) -> float | None:
        measured = {
            "weights": self.run.weights_gib,
            "kv_pool": self.run.kv_pool_gib,
            "kv_tokens": self.run.kv_tokens,
            "concurrency": self.run.concurrency,
        }[name]
        planned = {
            "weights": self.weights_gib,
            "kv_pool": self.kv_pool_gib,
            "kv_tokens": self.kv_tokens,
            "concurrency": self.concurrency,
        }[name]
        return planned / measured - 1 if measured else None

    @property
    def verdict(self) -> str:
        """'right', 'wrong' or 'n/a' (the run failed for a reason outside memory)."""
        if not self.run.ok and (self.run.error or "").startswith(NOT_MEMORY):
            return "n/a"
        started = self.run.ok
        says = self.fits and not self.warnings
        return "right" if says == started else "wrong"


def plan_run(run: VllmRun, engine: str = "vllm@0.19") -> MemoryPlan:
    catalog = cached_catalog()
    cluster = Cluster(find_gpu(catalog, "h100-sxm"), run.tp * run.pp)
    dep = deploy(
        get_engine(engine),
        weight_format(run.quant),
        cluster,
        pp=run.pp,
        kv_dtype=run.kv_dtype,
        context=run.context,
        gpu_util=run.gpu_util,
    )
    return plan_memory(find_model(catalog, run.model_id), dep)


def memory_rows() -> list[MemoryRow]:
    rows = []
    for run in vllm_runs():
        mem = plan_run(run)
        rows.append(
            MemoryRow(
                run,
                mem.weights_gib,
                mem.kv_pool_gib,
                mem.kv_tokens,
                mem.concurrency,
                mem.fits,
                mem.warnings,
            )
        )
    return rows
