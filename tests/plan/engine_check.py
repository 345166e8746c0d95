"""Check recipe arguments with an engine's own parser; run by the engine's Python, not pytest.

Runs inside .cache/engines/<engine> (scripts/engines.sh), which has the engine but not
modelyard. Reads JSON from stdin: {"engine": "vllm" | "sglang", "cases": [{"id": str,
"argv": [str, ...], "config": {...} | null}]}; writes {"versions": {...}, "results": {id:
"ok" | error}} as the last line of stdout, after "ENGINE-CHECK ".

vLLM: `vllm serve`'s parser (make_arg_parser), validate_parsed_serve_args and the reasoning
and tool-call parser registries (looked up only when a server starts); when a case
carries a Hugging Face config, the engine's model config is also built from it (with
--hf-overrides applied), which is where vLLM refuses a --max-model-len above the model's
(rope-scaled) limit. SGLang: ServerArgs.add_cli_args' parser, and the JSON of
--json-model-override-args.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

MARKER = "ENGINE-CHECK "


Check = Callable[[list[str], "dict[str, Any] | None"], None]


def _vllm() -> tuple[dict[str, str], Check]:
    import vllm
    import vllm.platforms as platforms
    from vllm.platforms.cpu import CpuPlatform

    platforms._current_platform = CpuPlatform()  # no GPU here: resolve devices as a CPU build
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
    from vllm.reasoning import ReasoningParserManager
    from vllm.tool_parsers import ToolParserManager
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    reasoning = set(ReasoningParserManager.list_registered())
    tools = set(ToolParserManager.list_registered())

    def check(argv: list[str], config: dict[str, Any] | None) -> None:
        parser = make_arg_parser(FlexibleArgumentParser())
        if config is not None:
            folder = Path(tempfile.mkdtemp())
            (folder / "config.json").write_text(json.dumps(config))
            argv = [str(folder), *argv[1:], "--skip-tokenizer-init"]
        args = parser.parse_args(argv)
        validate_parsed_serve_args(args)
        # the parsers are looked up when the server starts, not by argparse
        if args.reasoning_parser and args.reasoning_parser not in reasoning:
            raise ValueError(f"unknown reasoning parser {args.reasoning_parser!r}")
        if args.tool_call_parser and args.tool_call_parser not in tools:
            raise ValueError(f"unknown tool-call parser {args.tool_call_parser!r}")
        if args.model_tag:  # as `vllm serve` does with its positional model
            args.model = args.model_tag
        if config is not None:
            AsyncEngineArgs.from_cli_args(args).create_model_config()

    return {"vllm": vllm.__version__}, check


def _sglang() -> tuple[dict[str, str], Check]:
    import sglang
    from sglang.srt.server_args import ServerArgs

    def check(argv: list[str], config: dict[str, Any] | None) -> None:
        parser = argparse.ArgumentParser()
        ServerArgs.add_cli_args(parser)
        args = parser.parse_args(argv)
        if args.json_model_override_args:
            json.loads(args.json_model_override_args)

    return {"sglang": sglang.__version__}, check


def main() -> None:
    request = json.load(sys.stdin)
    versions, check = {"vllm": _vllm, "sglang": _sglang}[request["engine"]]()
    results = {}
    for case in request["cases"]:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                check(case["argv"], case.get("config"))
            results[case["id"]] = "ok"
        except SystemExit:
            lines = err.getvalue().strip().splitlines()
            results[case["id"]] = lines[-1] if lines else "exit"
        except Exception as exc:
            results[case["id"]] = f"{type(exc).__name__}: {exc}"
    # engines log to stdout: the verdict is the last line, after a marker
    print(MARKER + json.dumps({"versions": versions, "results": results}))


if __name__ == "__main__":
    main()
