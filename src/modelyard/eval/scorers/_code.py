"""Code execution scorer: run the reply against the item's tests in the sandbox (HumanEval)."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from modelyard.eval.sandbox import SandboxLimits, run_python
from modelyard.eval.schema import Score
from modelyard.eval.scorers._registry import ScoreContext, ScoreFn, scorer

_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_code(output: str) -> str:
    """The Python in a reply: its fenced code blocks joined, or the whole reply if none."""
    blocks = _BLOCK.findall(output)
    return "\n\n".join(blocks) if blocks else output


def build_program(code: str, reference: dict[str, Any]) -> str:
    """Prompt header, model code, tests and the ``check(entry_point)`` call, in that order.

    The HumanEval prompt comes first so its imports exist even when the reply omits them;
    the reply's definition of the function then replaces the prompt's empty one.
    """
    parts = [reference.get("prompt", ""), code, reference.get("test", "")]
    if reference.get("entry_point"):
        parts.append(f"check({reference['entry_point']})")
    return "\n\n".join(p for p in parts if p) + "\n"


@scorer("code")
def code(*, cpu_s: int = 5, memory_mb: int = 512, wall_s: float = 15.0) -> ScoreFn:
    """The reply's Python passes the item's tests (reference: {test, entry_point, prompt})."""
    limits = SandboxLimits(cpu_s=cpu_s, memory_mb=memory_mb, wall_s=wall_s)
    running = asyncio.Semaphore(max(1, os.cpu_count() or 1))

    async def score(ctx: ScoreContext) -> Score:
        reference = ctx.item.reference
        if isinstance(reference, str):
            reference = {"test": reference}
        program = build_program(extract_code(ctx.output), reference)
        async with running:
            result = await run_python(program, limits)
        return Score(
            value=float(result.ok),
            answer=extract_code(ctx.output)[:2000],
            explanation=result.reason,
            metadata={
                "stderr": result.stderr[-1000:],
                "network_namespace": result.network_namespace,
            },
        )

    return score
