"""Code execution scorer: run the reply against the item's tests in the sandbox (HumanEval)."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from modelyard.errors import EvalError
from modelyard.eval.sandbox import CodeCheck, SandboxLimits, launcher, run_check
from modelyard.eval.schema import Score
from modelyard.eval.scorers._registry import ScoreContext, ScoreFn, scorer

_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_code(output: str) -> str:
    """The Python in a reply: its fenced code blocks joined, or the whole reply if none."""
    blocks = _BLOCK.findall(output)
    return "\n\n".join(blocks) if blocks else output


def code_check(code: str, reference: Any) -> CodeCheck:
    """The check for ``code``: a reference is the tests, or ``{test, entry_point, prompt}``
    (HumanEval), whose prompt runs before the code on both sides."""
    if isinstance(reference, str):
        return CodeCheck(code=code, test=reference)
    if not isinstance(reference, dict) or not isinstance(reference.get("test", ""), str):
        raise EvalError("the code scorer needs a reference: tests, or {test, entry_point, prompt}")
    return CodeCheck(
        code=code,
        setup=str(reference.get("prompt", "")),
        test=reference.get("test", ""),
        entry_point=str(reference["entry_point"]) if reference.get("entry_point") else None,
    )


@scorer("code", runs_code=True)
def code(*, cpu_s: int = 5, memory_mb: int = 512, wall_s: float = 15.0) -> ScoreFn:
    """The reply's Python passes the item's tests (reference: {test, entry_point, prompt})."""
    limits = SandboxLimits(cpu_s=cpu_s, memory_mb=memory_mb, wall_s=wall_s)
    running = asyncio.Semaphore(max(1, os.cpu_count() or 1))

    async def score(ctx: ScoreContext) -> Score:
        answer = extract_code(ctx.output)
        check = code_check(answer, ctx.item.reference)
        how = launcher(ctx.unsafe_code)
        async with running:
            result = await run_check(check, how, limits)
        return Score(
            value=float(result.passed),
            answer=answer[:2000],
            explanation=result.reason,
            metadata={"output": result.output[-1000:], "isolation": result.isolation},
        )

    return score
