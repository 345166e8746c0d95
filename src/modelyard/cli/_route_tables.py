"""`yard route eval` for people: each split's figures, the router against every baseline, and
plain sentences for every baseline that beat it. Tables fit 80 columns."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from modelyard.cli._render import table

TARGET_LABELS = {"q95": "95%", "q90": "90%", "cheapest": "@cheap"}
SHOWN = ("router", "cascade", "tfidf-lr", "knn", "length", "random_mix", "cheapest_single",
         "best_single", "oracle")  # fmt: skip
SHORT = {"best_single": "best", "cheapest_single": "cheap", "random_mix": "mix",
         "tfidf-lr": "tfidf", "knn": "knn", "length": "len"}  # fmt: skip
MARK = {"win": "W", "loss": "L", "trade-off": "~", "tie": "="}


def money(value: float | None, calls: bool) -> str:
    """A cost: a share of calls, or USD per 1,000 requests."""
    if value is None:
        return "-"
    return f"{value:.3f}" if calls else f"{value * 1000:.3f}"


def figure(figs: dict[str, Any], key: str, fmt: str = ".3f") -> str:
    value = figs.get(key, {}).get("value")
    return "-" if value is None else format(value, fmt)


def methods_table(report: dict[str, Any], calls: bool) -> Any:
    """One row per method: cost and share at 95% and 90%, quality at the cheapest cost, AUC."""
    unit = "calls" if calls else "$/1k"
    rows = []
    for name in (m for m in SHOWN if m in report["methods"]):
        f = report["methods"][name]["figures"]
        rows.append((
            name,
            money(f["q95_cost"]["value"], calls), figure(f, "q95_share"),
            money(f["q90_cost"]["value"], calls), figure(f, "q90_share"),
            figure(f, "cheapest_quality"), figure(f, "auc"),
        ))  # fmt: skip
    columns = ["method", f"95% {unit}", "share", f"90% {unit}", "share", "@cheap q", "AUC"]
    title = f"{report['name']}: {report['rows']} prompts (thresholds from training rows)"
    return table(columns, rows, title=title, right=columns[1:])


def verdict_table(report: dict[str, Any]) -> Any:
    """The router against each baseline, per target: W(in), L(oss), ~ (trade-off), = (tie)."""
    by_base: dict[str, dict[str, str]] = {}
    for v in report["verdicts"]:
        by_base.setdefault(v["baseline"], {})[v["target"]] = v["outcome"]
    auc = report["curve_differences"]
    rows = []
    for base, outcomes in by_base.items():
        diff = auc.get(base, {}).get("auc", {})
        rows.append((base, *(outcomes.get(t, "") for t in TARGET_LABELS), _interval(diff)))
    columns = ["router vs", *TARGET_LABELS.values(), "AUC diff [95% CI]"]
    return table(columns, rows, title="paired against each baseline")


def _interval(d: dict[str, Any]) -> str:
    if not d or d.get("value") is None:
        return "-"
    ci = d.get("ci")
    return f"{d['value']:+.3f}" + (f" [{ci[0]:+.3f},{ci[1]:+.3f}]" if ci else "")


def losses(report: dict[str, Any], calls: bool) -> list[str]:
    """A sentence for every target at which a baseline beat the router."""
    out = []
    for v in report["verdicts"]:
        if v["outcome"] != "loss":
            continue
        cost, quality = v["cost_difference"], v["quality_difference"]
        out.append(
            f"{report['name']}: {v['baseline']} beat the router at {TARGET_LABELS[v['target']]}: "
            f"the router's cost minus its {_delta(cost, calls)}, quality {_delta(quality)}"
        )
    return out


def _delta(d: dict[str, Any], calls: bool | None = None) -> str:
    scale = 1.0 if calls is None or calls else 1000.0
    unit = "" if calls is None else (" calls" if calls else " $/1k")
    if d.get("value") is None:
        return "undefined"
    ci = d.get("ci")
    text = f"{d['value'] * scale:+.4f}{unit}"
    return text + (f" (95% CI {ci[0] * scale:+.4f} to {ci[1] * scale:+.4f})" if ci else "")


def tasks_table(reports: list[dict[str, Any]], calls: bool) -> Any:
    """Leave-one-task-out: per task, the router at 95% and its verdict against each baseline
    there (W/L/~/=)."""
    bases = list(SHORT)
    rows = []
    for r in reports:
        f = r["methods"]["router"]["figures"]
        marks = {v["baseline"]: MARK[v["outcome"]] for v in r["verdicts"] if v["target"] == "q95"}
        cost = money(f["q95_cost"]["value"], calls)
        share = figure(f, "q95_share", ".2f")
        rows.append((r["name"][:22], r["rows"], cost, share, *(marks.get(b, "") for b in bases)))
    unit = "calls" if calls else "$/1k"
    columns = ["held-out task", "n", unit, "share", *(SHORT[b] for b in bases)]
    title = "router at 95%, against each baseline there (W win, L loss, ~ trade-off, = tie)"
    return table(columns, rows, title=title, right=columns[1:4])


def render(result: dict[str, Any], console: Console) -> None:
    """Everything `yard route eval` prints for people."""
    calls = result["data"].get("cost_unit") != "USD per request"
    dropped = result["data"].get("dropped") or {}
    if dropped:
        console.print("skipped: " + ", ".join(f"{n} {why}" for why, n in dropped.items()))
    reports = result["splits"]
    if result["data"]["mode"] == "tasks":
        console.print(tasks_table(reports, calls))
    else:
        console.print(methods_table(reports[0], calls))
        console.print(verdict_table(reports[0]))
    summary = result.get("summary") or {}
    if summary:
        met = summary["router_cheapest_at_95"]
        console.print(f"router met 95% at a lower cost than every baseline on {len(met)} of "
                      f"{summary['tasks']} tasks: {', '.join(met) or 'none'}")  # fmt: skip
    for report in reports:
        for line in losses(report, calls):
            console.print(line)
        note = (report.get("two_model") or {}).get("note")
        if note:
            console.print(f"{report['name']}: {note}", style="dim")
    for note in result.get("notes", []):
        console.print(note, style="dim")
