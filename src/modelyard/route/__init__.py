"""Routing: send each request to the cheapest backend predicted to answer it well.

Python API::

    router = Router.load(Path("router.json"), candidates=["mixtral", "gpt-4"])
    backends = [Candidate("mixtral", local=True), Candidate("gpt-4", 10.0, 30.0)]
    decision = router.decide(messages, backends)
    decision.model, decision.reason, decision.estimates

    decide(Facts(prompt_tokens=900, private=("iban",)), backends)   # the decision alone

Training and evaluation: ``train(TrainSpec(...), out)`` and ``evaluate(EvalSpec(...))``, behind
``yard route train`` and ``yard route eval``.

Every name is imported on first use, so reading ``modelyard.route.language`` (as the gateway's
config does) loads neither numpy nor the router.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.route.artifact import RouterArtifact, RouterFileError
    from modelyard.route.calibrate import Target
    from modelyard.route.cascade import ReplyScorer
    from modelyard.route.decision import (
        Candidate,
        Decision,
        Facts,
        NoCandidateError,
        Rules,
        decide,
    )
    from modelyard.route.evaluation import Evaluation
    from modelyard.route.language import LanguageRule, LanguageRules, detect_language
    from modelyard.route.pipeline import EvalSpec, TrainSpec, evaluate, train
    from modelyard.route.router import Router
    from modelyard.route.tokens import TokenCounter

_HOMES = {
    "RouterArtifact": "artifact",
    "RouterFileError": "artifact",
    "Target": "calibrate",
    "ReplyScorer": "cascade",
    "Candidate": "decision",
    "Decision": "decision",
    "Facts": "decision",
    "NoCandidateError": "decision",
    "Rules": "decision",
    "decide": "decision",
    "Evaluation": "evaluation",
    "LanguageRule": "language",
    "LanguageRules": "language",
    "detect_language": "language",
    "EvalSpec": "pipeline",
    "TrainSpec": "pipeline",
    "evaluate": "pipeline",
    "train": "pipeline",
    "Router": "router",
    "TokenCounter": "tokens",
}
__all__ = [
    "Candidate",
    "Decision",
    "EvalSpec",
    "Evaluation",
    "Facts",
    "LanguageRule",
    "LanguageRules",
    "NoCandidateError",
    "ReplyScorer",
    "Router",
    "RouterArtifact",
    "RouterFileError",
    "Rules",
    "Target",
    "TokenCounter",
    "TrainSpec",
    "decide",
    "detect_language",
    "evaluate",
    "train",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'modelyard.route' has no attribute {name!r}")
    value = getattr(import_module(f"modelyard.route.{home}"), name)
    globals()[name] = value
    return value
