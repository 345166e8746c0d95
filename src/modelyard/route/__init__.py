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
config does) loads neither numpy nor the router. The datasets, embedders and featurizer below are
what the CLI and the benchmarks read labels, build embeddings and write reports with.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_names

if TYPE_CHECKING:
    from modelyard.route.artifact import RouterArtifact, RouterFileError
    from modelyard.route.calibrate import Target
    from modelyard.route.cascade import ReplyScorer
    from modelyard.route.datasets import join_replies, read_labels
    from modelyard.route.decision import (
        Candidate,
        Decision,
        Facts,
        NoCandidateError,
        Rules,
        decide,
    )
    from modelyard.route.embed import TransformerEmbedder, model_files, static_embedder, token_table
    from modelyard.route.embed import window as embed_window
    from modelyard.route.evaluation import Evaluation
    from modelyard.route.features import Featurizer
    from modelyard.route.language import LanguageRule, LanguageRules, detect_language
    from modelyard.route.pipeline import EvalSpec, TrainSpec, evaluate, train
    from modelyard.route.report import write as write_report
    from modelyard.route.router import Router
    from modelyard.route.tokens import TokenCounter

__all__ = [
    "Candidate",
    "Decision",
    "EvalSpec",
    "Evaluation",
    "Facts",
    "Featurizer",
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
    "TransformerEmbedder",
    "decide",
    "detect_language",
    "embed_window",
    "evaluate",
    "join_replies",
    "model_files",
    "read_labels",
    "static_embedder",
    "token_table",
    "train",
    "write_report",
]

__getattr__ = lazy_names(__name__, __file__)
