"""The planner: which models fit which hardware, how fast, at what cost, and how to launch them.

The names below are what other packages (the CLI, bench, benchmarks) use; the modules hold
the rest.
"""

from modelyard.plan.breakdown import ModelPlan, PlanRequest, plan_model
from modelyard.plan.checkpoints import checkpoints, native_format
from modelyard.plan.cluster import Cluster, detect_cluster, parse_amount, parse_cluster, parse_split
from modelyard.plan.cost import CostOptions, compute_cost_usd
from modelyard.plan.deployment import Deployment, LoraSlots, deploy
from modelyard.plan.engines import get_engine
from modelyard.plan.finetune import FinetuneSpec
from modelyard.plan.finetune_plan import FinetunePlan, MeasuredTraining, plan_finetune
from modelyard.plan.fit import best_fit, start_format
from modelyard.plan.formats import weight_format
from modelyard.plan.kvcache import kv_bytes_per_sequence
from modelyard.plan.measured import compare, measured_checks
from modelyard.plan.quality import EvalScores, QualityBasis, eval_basis, published_basis
from modelyard.plan.recommend import Ranking, recommend
from modelyard.plan.speed import decode, prefill
from modelyard.plan.weights import GIB, weight_bytes
from modelyard.plan.workload import TrafficProfile, workload

__all__ = [
    "GIB",
    "Cluster",
    "CostOptions",
    "Deployment",
    "EvalScores",
    "FinetunePlan",
    "FinetuneSpec",
    "LoraSlots",
    "MeasuredTraining",
    "ModelPlan",
    "PlanRequest",
    "QualityBasis",
    "Ranking",
    "TrafficProfile",
    "best_fit",
    "checkpoints",
    "compare",
    "compute_cost_usd",
    "decode",
    "deploy",
    "detect_cluster",
    "eval_basis",
    "get_engine",
    "kv_bytes_per_sequence",
    "measured_checks",
    "native_format",
    "parse_amount",
    "parse_cluster",
    "parse_split",
    "plan_finetune",
    "plan_model",
    "prefill",
    "published_basis",
    "recommend",
    "start_format",
    "weight_bytes",
    "weight_format",
    "workload",
]
