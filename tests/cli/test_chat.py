"""`yard chat` through the real gateway: one question, or a conversation whose every request
carries the turns before it, saved so that --continue takes it up again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.process import run
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import RunningGateway, gateway_config, running_gateway

ANSWER = "t0 t1 t2 t3 "


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[RunningGateway, FaultUpstream]]:
    with FaultUpstream("a", chunks=4) as upstream:
        config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]})
        with running_gateway(config, tmp_path / "gateway-home") as gateway:
            yield gateway, upstream


def chat(gateway: RunningGateway, home: Path, *args: str, stdin: str = "") -> tuple[str, str]:
    done = run("chat", "--url", gateway.url, "-m", "m", *args, home=home, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str = ANSWER) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_without_a_prompt_each_line_is_a_turn_sent_with_the_ones_before(
    served: tuple[RunningGateway, FaultUpstream], tmp_path: Path
) -> None:
    gateway, upstream = served
    out, err = chat(gateway, tmp_path, stdin="hello\n\nhow are you?\n/bye\nnever sent\n")
    assert out == f"{ANSWER}\n{ANSWER}\n"
    assert [r["messages"] for r in upstream.requests] == [
        [user("hello")],
        [user("hello"), assistant(), user("how are you?")],
    ]
    cid = err.split("yard chat --cid ")[1].strip()
    saved = json.loads((tmp_path / "chat" / f"{cid}.json").read_text())
    assert saved["model"] == "m" and saved["messages"] == upstream.requests[1]["messages"] + [
        assistant()
    ]


def test_continue_takes_the_latest_conversation_up_again(
    served: tuple[RunningGateway, FaultUpstream], tmp_path: Path
) -> None:
    gateway, upstream = served
    chat(gateway, tmp_path, "-s", "Answer briefly.", "first question")
    run("chat", "--url", gateway.url, "--continue", "and then?", home=tmp_path)
    assert upstream.requests[1]["model"] == "m", "the conversation keeps its model"
    assert upstream.requests[1]["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        user("first question"),
        assistant(),
        user("and then?"),
    ]


def test_clear_starts_afresh_and_a_block_holds_several_lines(
    served: tuple[RunningGateway, FaultUpstream], tmp_path: Path
) -> None:
    gateway, upstream = served
    chat(gateway, tmp_path, stdin='one\n/clear\n"""\nline one\nline two\n"""\n')
    assert [r["messages"] for r in upstream.requests] == [
        [user("one")],
        [user("line one\nline two")],
    ]


def test_a_failed_turn_is_said_and_left_out_of_the_conversation(
    served: tuple[RunningGateway, FaultUpstream], tmp_path: Path
) -> None:
    gateway, upstream = served
    upstream.plan("ok", "500", "500", "500")  # the gateway tries the backend three times
    out, err = chat(gateway, tmp_path, stdin="first\nsecond\nthird\n")
    assert "HTTP 502" in err and "that turn is not kept" in err
    assert out == f"{ANSWER}\n{ANSWER}\n"
    assert upstream.requests[-1]["messages"] == [user("first"), assistant(), user("third")]


def test_continue_with_nothing_to_continue_says_so(tmp_path: Path) -> None:
    done = run("chat", "--continue", "hello", home=tmp_path)
    assert done.returncode == 1 and "no conversation to continue" in done.stderr


def test_no_gateway_is_one_clear_error(tmp_path: Path) -> None:
    done = run("chat", "--url", "http://127.0.0.1:9", "hello", home=tmp_path)
    assert done.returncode == 1 and "cannot connect" in done.stderr
    assert "Traceback" not in done.stderr
