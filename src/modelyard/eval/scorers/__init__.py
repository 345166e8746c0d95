"""Scorers: registered factories that turn a model reply into a ``Score`` with its reason."""

from modelyard.eval.scorers import _code, _ifeval, _json, _judge, _language, _match
from modelyard.eval.scorers._code import code_check, extract_code
from modelyard.eval.scorers._ifeval import SUPPORTED as IFEVAL_SUPPORTED
from modelyard.eval.scorers._ifeval import check_instructions
from modelyard.eval.scorers._json import parse_json, validate
from modelyard.eval.scorers._judge import combine, parse_rating, parse_verdict
from modelyard.eval.scorers._language import detect_language
from modelyard.eval.scorers._match import extract_number, normalize_text
from modelyard.eval.scorers._registry import (
    JudgeFn,
    ScoreContext,
    ScoreFn,
    ScorerInfo,
    create_scorer,
    scorer,
    scorer_info,
    scorer_names,
)

__all__ = [
    "IFEVAL_SUPPORTED",
    "JudgeFn",
    "ScoreContext",
    "ScoreFn",
    "ScorerInfo",
    "check_instructions",
    "code_check",
    "combine",
    "create_scorer",
    "detect_language",
    "extract_code",
    "extract_number",
    "normalize_text",
    "parse_json",
    "parse_rating",
    "parse_verdict",
    "scorer",
    "scorer_info",
    "scorer_names",
    "validate",
]

_BUILTINS = (_code, _ifeval, _json, _judge, _language, _match)
