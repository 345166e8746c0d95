"""Adapters from the public benchmark files in shared/data/evals to suites.

``gsm8k``, ``mgsm:<lang>`` (en fr de es zh ja), ``humaneval``, ``mt_bench`` (first turn, judge
grade), ``arena_hard`` (pairwise against the first model) and ``m_ifeval:<lang>`` (en fr es ja).
MGSM prompts ask for the final answer after a localized "Answer:" label (the labels used by
openai/simple-evals); the numeric scorer reads the number after it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from modelyard.errors import EvalError
from modelyard.eval.schema import GenerateParams, Item, ScorerSpec, Suite

MGSM_PREFIX = {
    "en": "Answer",
    "fr": "Réponse",
    "de": "Antwort",
    "es": "Respuesta",
    "zh": "答案",
    "ja": "答え",
}
MGSM_INSTRUCTION = {
    "en": "Solve this math problem. Reason step by step, then give the final answer on the last "
    'line as "Answer: <integer>".',
    "fr": "Résolvez ce problème de mathématiques. Raisonnez étape par étape, puis donnez la "
    'réponse finale sur la dernière ligne sous la forme "Réponse: <entier>".',
    "de": "Löse diese Matheaufgabe. Denke Schritt für Schritt und gib dann die endgültige "
    'Antwort in der letzten Zeile als "Antwort: <ganze Zahl>" an.',
    "es": "Resuelve este problema de matemáticas. Razona paso a paso y da la respuesta final en "
    'la última línea como "Respuesta: <entero>".',
    "zh": '解决这个数学问题。请逐步推理，然后在最后一行以"答案: <整数>"的格式给出最终答案。',
    "ja": "この算数の問題を解いてください。段階的に考え、最後の行に「答え: <整数>」の形式で"
    "最終的な答えを書いてください。",
}
GSM8K_INSTRUCTION = (
    "Solve this math problem step by step. End your reply with a line "
    '"#### <number>" giving the final answer.'
)
HUMANEVAL_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete "
    "function (imports included) in one ```python code block."
)
IFEVAL_LANGS = ("en", "fr", "es", "ja")


def _require(path: Path) -> Path:
    if not path.is_file():
        raise EvalError(
            f"{path}: shared eval file not found; set YARD_SHARED_DATA to the shared/data folder"
        )
    return path


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(_require(path), "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _variant(name: str, variant: str | None, choices: tuple[str, ...]) -> str:
    if variant not in choices:
        raise EvalError(
            f"suite {name}:{variant}: pick a language, one of "
            f"{', '.join(f'{name}:{c}' for c in choices)}"
        )
    return variant


def gsm8k(root: Path) -> Suite:
    """GSM8K test (1,319 items), scored on the number after ``####`` (else the last number)."""
    path = root / "evals/gsm8k/test.jsonl"
    items = [
        Item(
            id=f"gsm8k.test.{i}",
            prompt=f"{GSM8K_INSTRUCTION}\n\n{row['question']}",
            reference=row["answer"].rsplit("####", 1)[1].strip(),
            language="en",
        )
        for i, row in enumerate(_jsonl(path))
    ]
    return Suite(
        name="gsm8k",
        source=str(path),
        items=items,
        scorer=ScorerSpec(name="numeric"),
        description="GSM8K test, grade-school math (MIT, openai/grade-school-math)",
    )


def mgsm(root: Path, lang: str) -> Suite:
    """MGSM in one language (250 items): localized instruction and answer label."""
    path = _require(root / f"evals/mgsm/mgsm_{lang}.tsv")
    items = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        question, answer = line.rsplit("\t", 1)
        items.append(
            Item(
                id=f"mgsm.{lang}.{i}",
                prompt=f"{MGSM_INSTRUCTION[lang]}\n\n{question}",
                reference=answer.strip(),
                language=lang,
                category=lang,
            )
        )
    scorer = ScorerSpec(name="numeric", args={"prefix": MGSM_PREFIX[lang]})
    return Suite(
        name=f"mgsm:{lang}",
        source=str(path),
        items=items,
        scorer=scorer,
        description=f"MGSM {lang} (CC-BY-4.0, google-research/url-nlp)",
        params=GenerateParams(max_tokens=768),
    )


def humaneval(root: Path) -> Suite:
    """HumanEval (164 items), scored by running its tests in the sandbox (pass@1)."""
    path = root / "evals/humaneval/HumanEval.jsonl.gz"
    items = [
        Item(
            id=row["task_id"],
            prompt=f"{HUMANEVAL_INSTRUCTION}\n\n{row['prompt']}",
            reference={
                "prompt": row["prompt"],
                "test": row["test"],
                "entry_point": row["entry_point"],
            },
        )
        for row in _jsonl(path)
    ]
    return Suite(
        name="humaneval",
        source=str(path),
        items=items,
        scorer=ScorerSpec(name="code"),
        description="HumanEval (MIT, openai/human-eval), pass@1 in the sandbox",
    )


def _mt_references(root: Path) -> dict[int, str]:
    path = root / "evals/mt_bench/reference_answer/gpt-4.jsonl"
    if not path.is_file():
        return {}
    return {row["question_id"]: row["choices"][0]["turns"][0] for row in _jsonl(path)}


def mt_bench(root: Path) -> Suite:
    """MT-Bench first turns (80 items), graded 1–10 by the judge (reference for math/coding)."""
    path = root / "evals/mt_bench/question.jsonl"
    refs = _mt_references(root)
    items = [
        Item(
            id=f"mt_bench.{row['question_id']}",
            prompt=row["turns"][0],
            category=row["category"],
            reference=refs.get(row["question_id"]),
        )
        for row in _jsonl(path)
    ]
    return Suite(
        name="mt_bench",
        source=str(path),
        items=items,
        scorer=ScorerSpec(name="judge"),
        description="MT-Bench turn 1 (Apache-2.0, lm-sys/FastChat), judge grade 1–10",
        params=GenerateParams(max_tokens=1024),
    )


def arena_hard(root: Path) -> Suite:
    """Arena-Hard v0.1 (500 items), judged pairwise against the first model, both orders."""
    path = root / "evals/arena_hard_v0.1/question.jsonl"
    items = [
        Item(id=row["uid"], prompt=row["prompt"], category=row["cluster"]) for row in _jsonl(path)
    ]
    return Suite(
        name="arena_hard",
        source=str(path),
        items=items,
        scorer=ScorerSpec(name="pairwise"),
        params=GenerateParams(max_tokens=1024),
        description="Arena-Hard v0.1 (Apache-2.0), pairwise vs the first model",
    )


def m_ifeval(root: Path, lang: str) -> Suite:
    """M-IFEval in one language, scored by the deterministic instruction checks."""
    path = root / f"evals/m_ifeval/{lang}_input_data.jsonl"
    items = [
        Item(
            id=f"m_ifeval.{lang}.{row['key']}",
            prompt=row["prompt"],
            language=lang,
            category=row["instruction_id_list"][0].split(":")[1],
            reference={"instruction_id_list": row["instruction_id_list"], "kwargs": row["kwargs"]},
        )
        for row in _jsonl(path)
    ]
    return Suite(
        name=f"m_ifeval:{lang}",
        source=str(path),
        items=items,
        scorer=ScorerSpec(name="ifeval"),
        params=GenerateParams(max_tokens=1024),
        description=f"M-IFEval {lang} (Apache-2.0, lightblue-tech/M-IFEval), strict",
    )


SHARED_SETS: dict[str, Callable[[Path, str | None], Suite]] = {
    "gsm8k": lambda root, _: gsm8k(root),
    "mgsm": lambda root, v: mgsm(root, _variant("mgsm", v, tuple(MGSM_PREFIX))),
    "humaneval": lambda root, _: humaneval(root),
    "mt_bench": lambda root, _: mt_bench(root),
    "arena_hard": lambda root, _: arena_hard(root),
    "m_ifeval": lambda root, v: m_ifeval(root, _variant("m_ifeval", v, IFEVAL_LANGS)),
}


def load_shared(name: str, variant: str | None, root: Path) -> Suite:
    """The shared set ``name`` (with its language ``variant`` where it has one) under ``root``."""
    return SHARED_SETS[name](root, variant)
