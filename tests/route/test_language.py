"""The prompt-language detector and per-language allow/prefer rules, in the router's Python API."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from modelyard.route import Candidate, NoCandidateError, Router
from modelyard.route.artifact import load
from modelyard.route.features import Featurizer
from modelyard.route.language import LanguageRule, LanguageRules, detect_language
from tests.route.test_router import STRONG, WEAK, router_file  # noqa: F401 (a fixture)

SAMPLES = {
    "en": "Could you summarise this report for the board and list the three main risks?",
    "fr": "Pourriez-vous résumer ce rapport pour le conseil et lister les trois risques ?",
    "de": "Kannst du diesen Bericht für den Vorstand zusammenfassen und die drei Risiken nennen?",
    "es": "¿Puedes resumir este informe para la junta y enumerar los tres riesgos principales?",
    "it": "Puoi riassumere questo rapporto per il consiglio e elencare i tre rischi principali?",
    "pt": "Você pode resumir este relatório para a diretoria e listar os três riscos principais?",
    "nl": "Kun je dit rapport voor het bestuur samenvatten en de drie grootste risico's noemen?",
    "zh": "你能为董事会总结这份报告并列出三个主要风险吗？",
    "ja": "この報告書を取締役会向けに要約し、主なリスクを三つ挙げてください。",
    "ko": "이사회를 위해 이 보고서를 요약하고 세 가지 주요 위험을 나열해 주시겠어요?",
    "ru": "Не могли бы вы кратко изложить этот отчёт для совета и перечислить три главных риска?",
    "ar": "هل يمكنك تلخيص هذا التقرير لمجلس الإدارة وذكر المخاطر الثلاثة الرئيسية؟",
}


@pytest.mark.parametrize(("lang", "text"), SAMPLES.items(), ids=list(SAMPLES))
def test_detects_each_supported_language(lang: str, text: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "OK", "42 + 17 = ?", "def f(x): return x"])
def test_unsure_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_accuracy_on_real_multilingual_prompts(shared_data: Path) -> None:
    """MGSM (de en es fr ja zh, 250 questions each) and M-IFEval (en es fr ja) prompts."""
    evals = shared_data / "evals"
    rows = []
    for lang in ("de", "en", "es", "fr", "ja", "zh"):
        text = (evals / "mgsm" / f"mgsm_{lang}.tsv").read_text(encoding="utf-8")
        rows += [(lang, row[0]) for row in csv.reader(text.splitlines(), delimiter="\t",
                                                      quoting=csv.QUOTE_NONE)]  # fmt: skip
    for lang in ("en", "es", "fr", "ja"):
        text = (evals / "m_ifeval" / f"{lang}_input_data.jsonl").read_text(encoding="utf-8")
        rows += [(lang, json.loads(line)["prompt"]) for line in text.splitlines()]
    right = sum(detect_language(text) == lang for lang, text in rows)
    assert len(rows) == 2563 and right / len(rows) >= 0.99


def test_a_language_rule_wins_over_its_group() -> None:
    rules = LanguageRules(
        {"european": LanguageRule(prefer=("mistral",)), "de": LanguageRule(allow=("qwen",))}
    )
    fr, de = rules.rule_for("fr"), rules.rule_for("de")
    assert fr is not None and (fr.key, fr.label) == ("european", "language fr (european)")
    assert de is not None and de.excludes("mistral") == "language de: not in its allow list"
    assert de.excludes("qwen") is None and rules.rule_for("en") is None
    assert rules.rule_for(None) is None and not LanguageRules({})


def test_unknown_language_keys_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown language 'french'.*european \(de es fr"):
        LanguageRules({"french": LanguageRule()})


def test_router_prefers_among_good_enough_candidates(
    router_file: Path,  # noqa: F811
    featurizer: Featurizer,
) -> None:
    cands = [Candidate(WEAK, local=True), Candidate(STRONG, 10.0, 30.0)]
    ask = [{"role": "user", "content": SAMPLES["fr"]}]
    rules = LanguageRules({"fr": LanguageRule(prefer=(STRONG,))})
    lenient = Router(replace(load(router_file), threshold=1.0), featurizer)  # all good enough
    plain = lenient.decide(ask, cands)
    preferred = lenient.decide(ask, cands, languages=rules)
    assert plain.model == WEAK and plain.language is None
    assert preferred.model == STRONG and preferred.language == "fr"
    assert preferred.reason.endswith(f"; language fr: prefer {STRONG}")
    strict = Router(replace(load(router_file), threshold=0.0), featurizer)  # only the best
    best = strict.decide(ask, cands)
    worse = WEAK if best.model == STRONG else STRONG
    rules = LanguageRules({"fr": LanguageRule(prefer=(worse,))})
    assert strict.decide(ask, cands, languages=rules).model == best.model


def test_router_allow_list_excludes(router_file: Path, featurizer: Featurizer) -> None:  # noqa: F811
    router = Router(load(router_file), featurizer)
    cands = [Candidate(WEAK, local=True), Candidate(STRONG, 10.0, 30.0)]
    rules = LanguageRules({"european": LanguageRule(allow=(STRONG,))})
    decision = router.decide([{"role": "user", "content": SAMPLES["de"]}], cands, languages=rules)
    assert decision.model == STRONG
    assert decision.excluded == {WEAK: ["language de (european): not in its allow list"]}
    with pytest.raises(NoCandidateError, match="not in its allow list"):
        router.decide([{"role": "user", "content": SAMPLES["it"]}], cands[:1], languages=rules)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le chat est sur la table et il dort.", "fr"),
        ("x" * 10_000 + " the cat is on the table", None),  # only the first 600 characters
        ("Die Straße ist lang und die Häuser sind alt.", "de"),
        ("Привет, как дела? Hello there friend", "ru"),  # Cyrillic holds most letters
        ("Hello 你好 world this is mostly English text here", "en"),
    ],
)
def test_edge_cases(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_rules_apply_to_the_detected_language() -> None:
    rules = LanguageRules({"fr": LanguageRule(prefer=("b",))})
    assert rules.apply(SAMPLES["fr"])[0] == "fr"
    language, applied = rules.apply(SAMPLES["de"])
    assert language == "de" and applied is None
    assert LanguageRules({}).apply(SAMPLES["fr"]) == (None, None)
    fr = rules.rule_for("fr")
    assert fr is not None and fr.preferred(["a", "b"]) == "b" and fr.preferred(["a"]) is None
