"""The planner: which models fit which hardware, how fast, at what cost, and how to launch them."""

from modelyard.plan.breakdown import ModelPlan, plan_model
from modelyard.plan.cluster import Cluster, detect_cluster, parse_amount, parse_cluster, parse_split
from modelyard.plan.cost import (
    WORKLOAD_SHAPES,
    BreakEven,
    CostEstimate,
    HybridCost,
    Workload,
    estimate_cost,
    workload,
)
from modelyard.plan.engines import ENGINES, Engine, Factor, get_engine, load_engines
from modelyard.plan.finetune import FinetuneMemory, FinetuneSpec, plan_finetune_memory
from modelyard.plan.finetune_plan import FinetunePlan, plan_finetune
from modelyard.plan.finetune_time import FinetuneTime, plan_finetune_time
from modelyard.plan.fit import (
    auto_quant,
    best_fit,
    candidate_formats,
    does_not_fit,
    native_format,
)
from modelyard.plan.formats import FORMATS, KV_BYTES, WeightFormat, kv_bytes, weight_format
from modelyard.plan.frameworks import Framework, get_framework
from modelyard.plan.measured import MeasuredCheck, MeasuredDecode, compare, measured_checks
from modelyard.plan.memory import (
    GIB,
    Deployment,
    LoraSlots,
    MemoryPlan,
    Reserve,
    WeightBytes,
    engine_reserves,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    kv_layer_bytes,
    plan_memory,
    weight_bytes,
)
from modelyard.plan.recipes import Recipe, recipes
from modelyard.plan.recommend import Excluded, Ranked, Ranking, recommend
from modelyard.plan.speed import DecodeEstimate, PrefillEstimate, decode, experts_touched, prefill

__all__ = [
    "ENGINES",
    "FORMATS",
    "GIB",
    "KV_BYTES",
    "WORKLOAD_SHAPES",
    "BreakEven",
    "Cluster",
    "CostEstimate",
    "DecodeEstimate",
    "Deployment",
    "Engine",
    "Excluded",
    "Factor",
    "FinetuneMemory",
    "FinetunePlan",
    "FinetuneSpec",
    "FinetuneTime",
    "Framework",
    "HybridCost",
    "LoraSlots",
    "MeasuredCheck",
    "MeasuredDecode",
    "MemoryPlan",
    "ModelPlan",
    "PrefillEstimate",
    "Ranked",
    "Ranking",
    "Recipe",
    "Reserve",
    "WeightBytes",
    "WeightFormat",
    "Workload",
    "auto_quant",
    "best_fit",
    "candidate_formats",
    "compare",
    "decode",
    "detect_cluster",
    "does_not_fit",
    "engine_reserves",
    "estimate_cost",
    "experts_touched",
    "get_engine",
    "get_framework",
    "kv_bytes",
    "kv_bytes_per_sequence",
    "kv_bytes_per_token",
    "kv_layer_bytes",
    "load_engines",
    "measured_checks",
    "native_format",
    "parse_amount",
    "parse_cluster",
    "parse_split",
    "plan_finetune",
    "plan_finetune_memory",
    "plan_finetune_time",
    "plan_memory",
    "plan_model",
    "prefill",
    "recipes",
    "recommend",
    "weight_bytes",
    "weight_format",
    "workload",
]
