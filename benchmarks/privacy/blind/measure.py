"""Leaks and look-alikes kept local on the blind corpus, per half, by kind, language and field.

    .venv/bin/python benchmarks/privacy/blind/measure.py --misses        # dev, misses listed
    .venv/bin/python benchmarks/privacy/blind/measure.py --held-out --out results/after.json
    .venv/bin/python benchmarks/privacy/blind/measure.py --held-out --presidio   # the peer too

The scanner runs as the gateway runs it (``Scanner()``, default budget, rules only; a request
the scan could not finish counts as flagged, and is counted apart as ``unread``). Misses are
listed for the ``dev`` half only: ``test`` is held out. It is measured only with
``--held-out`` (once, after the fixes), and only its counts are printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelyard.privacy import Scanner

HERE = Path(__file__).resolve().parent
HALVES = ("dev", "test")
Flags = Callable[[Any], tuple[bool, list[str]]]
"""A scanner as the benchmarks see it: a body in, (flagged, kinds) out."""


def ours(scanner: Scanner) -> Flags:
    def flags(body: Any) -> tuple[bool, list[str]]:
        scan = scanner.scan_body(body)
        return scan.private, scan.kinds

    return flags


def presidio() -> Flags | None:
    """Presidio's default analyzer as benchmarks/privacy/run.py sets it up (any entity flags)."""
    sys.path.insert(0, str(HERE.parent))
    from run import presidio as peer  # type: ignore[import-not-found]

    return peer(0.0)  # type: ignore[no-any-return]


def load(half: str) -> list[dict[str, Any]]:
    lines = (HERE / f"{half}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def measure(items: list[dict[str, Any]], flags: Flags) -> dict[str, Any]:
    rows = []
    for item in items:
        flagged, kinds = flags(item["body"])
        rows.append({**{k: item[k] for k in ("id", "label", "kind", "lang", "field")},
                     "flagged": flagged, "kinds": kinds})  # fmt: skip
    private = [r for r in rows if r["label"] == "private"]
    looks = [r for r in rows if r["label"] == "lookalike"]
    leaks = [r for r in private if not r["flagged"]]
    kept = [r for r in looks if r["flagged"]]
    return {
        "private": len(private),
        "leaked": len(leaks),
        "lookalikes": len(looks),
        "kept_local": len(kept),
        "unread": sum("unread" in r["kinds"] for r in rows),
        "leaks_by": {f: _ratio(leaks, private, f) for f in ("kind", "lang", "field")},
        "kept_local_by_kind": _ratio(kept, looks, "kind"),
        "items": rows,
    }


def _ratio(part: list[dict[str, Any]], whole: list[dict[str, Any]], field: str) -> dict[str, str]:
    totals = Counter(r[field] for r in whole)
    return {k: f"{n}/{totals[k]}" for k, n in Counter(r[field] for r in part).most_common()}


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--misses", action="store_true", help="list the dev half's misses")
    ap.add_argument("--held-out", action="store_true", help="measure the test half too")
    ap.add_argument("--presidio", action="store_true", help="Presidio's analyzer instead")
    ap.add_argument("--out", type=Path, help="write the figures (and per-item verdicts) here")
    ns = ap.parse_args()
    flags = presidio() if ns.presidio else ours(Scanner())
    if flags is None:
        raise SystemExit("presidio-analyzer is not installed (the dev extra)")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    scanner = "presidio" if ns.presidio else "modelyard"
    results: dict[str, Any] = {"commit": commit, "scanner": scanner, "halves": {}}
    halves = HALVES if ns.held_out else HALVES[:1]
    corpus = {half: load(half) for half in halves}
    for half in halves:
        res = results["halves"][half] = measure(corpus[half], flags)
        print(
            f"{half}: leaked {pct(res['leaked'], res['private'])}, look-alikes kept local "
            f"{pct(res['kept_local'], res['lookalikes'])}, unread {res['unread']}"
        )
        print(f"  leaks by kind {res['leaks_by']['kind']}")
        print(f"  kept local by kind {res['kept_local_by_kind']}")
    if ns.misses:
        bodies = {item["id"]: item["body"] for item in corpus["dev"]}
        for row in results["halves"]["dev"]["items"]:
            if row["flagged"] != (row["label"] == "private"):
                tag = "LEAK" if row["label"] == "private" else "KEPT"
                print(tag, row["id"], row["kind"], row["lang"], row["kinds"])
                print("   ", json.dumps(bodies[row["id"]], ensure_ascii=False)[:400])
    if ns.out:
        ns.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
