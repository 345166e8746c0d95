"""The planner: which models fit which hardware, how fast, at what cost, and how to launch them.

The names below are what other packages (the CLI, bench, benchmarks) use; the modules hold
the rest.
"""

from modelyard.plan.breakdown import ModelPlan, PlanRequest, plan_model
from modelyard.plan.checkpoints import checkpoints, native_format
from modelyard.plan.cluster import Cluster, detect_cluster, parse_amount, parse_cluster, parse_split
from modelyard.plan.cost import TRUSTED as TRUSTED_PRICES
from modelyard.plan.cost import CostEstimate, CostOptions, compute_cost_usd
from modelyard.plan.cpu import CpuHost, cpu_host, detect_cpu, generic_cpu
from modelyard.plan.deployment import Deployment, LoraSlots, deploy
from modelyard.plan.engines import ActivationModel, Engine, Factor, get_engine
from modelyard.plan.finetune import FinetuneSpec, plan_finetune_memory
from modelyard.plan.finetune_plan import (
    FinetunePlan,
    MeasuredTraining,
    measured_training,
    plan_finetune,
)
from modelyard.plan.finetune_time import plan_finetune_time
from modelyard.plan.fit import best_fit, start_format
from modelyard.plan.formats import weight_format
from modelyard.plan.kvcache import kv_bytes_per_sequence
from modelyard.plan.measured import SHIPPED as SHIPPED_CALIBRATIONS
from modelyard.plan.measured import MeasuredCheck, calibrations, compare, measured_checks
from modelyard.plan.memory import MemoryPlan, plan_memory
from modelyard.plan.quality import EvalScores, QualityBasis, eval_basis, published_basis
from modelyard.plan.recipes import Recipe
from modelyard.plan.recommend import Ranking, recommend
from modelyard.plan.reserves import engine_reserves
from modelyard.plan.speed import decode, prefill
from modelyard.plan.train_calibration import load_train_calibrations
from modelyard.plan.weights import GIB, require_arch, weight_bytes
from modelyard.plan.workload import TrafficProfile, workload

__all__ = [
    "GIB",
    "SHIPPED_CALIBRATIONS",
    "TRUSTED_PRICES",
    "ActivationModel",
    "Cluster",
    "CostEstimate",
    "CostOptions",
    "CpuHost",
    "Deployment",
    "Engine",
    "EvalScores",
    "Factor",
    "FinetunePlan",
    "FinetuneSpec",
    "LoraSlots",
    "MeasuredCheck",
    "MeasuredTraining",
    "MemoryPlan",
    "ModelPlan",
    "PlanRequest",
    "QualityBasis",
    "Ranking",
    "Recipe",
    "TrafficProfile",
    "best_fit",
    "calibrations",
    "checkpoints",
    "compare",
    "compute_cost_usd",
    "cpu_host",
    "decode",
    "deploy",
    "detect_cluster",
    "detect_cpu",
    "engine_reserves",
    "eval_basis",
    "generic_cpu",
    "get_engine",
    "kv_bytes_per_sequence",
    "load_train_calibrations",
    "measured_checks",
    "measured_training",
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
    "published_basis",
    "recommend",
    "require_arch",
    "start_format",
    "weight_bytes",
    "weight_format",
    "workload",
]
