"""Redaction and restoration: placeholders in the body that leaves, values back in answers."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from modelyard.privacy import Scanner, redact
from modelyard.privacy.redact import Restorer

SCANNER = Scanner()
EMAIL = "jane.doe@gmail.com"
CARD = "4111 1111 1111 1111"


def test_same_value_same_placeholder_and_caller_body_untouched() -> None:
    body = {"messages": [{"role": "user", "content": f"mail {EMAIL}, card {CARD}, again {EMAIL}"}]}
    before = json.dumps(body)
    redacted = redact(body, SCANNER.scan_body(body))
    assert (
        redacted.body["messages"][0]["content"] == "mail <EMAIL_1>, card <CARD_1>, again <EMAIL_1>"
    )
    assert redacted.values == {"<EMAIL_1>": EMAIL, "<CARD_1>": CARD}
    assert json.dumps(body) == before


def test_placeholders_already_in_the_body_are_not_reused() -> None:
    body = {"messages": [{"role": "user", "content": f"<EMAIL_1> is a template; mine is {EMAIL}"}]}
    redacted = redact(body, SCANNER.scan_body(body))
    assert redacted.body["messages"][0]["content"] == "<EMAIL_1> is a template; mine is <EMAIL_2>"
    assert (
        Restorer(redacted.values).text("to <EMAIL_1> and <EMAIL_2>") == f"to <EMAIL_1> and {EMAIL}"
    )


def test_keys_numbers_and_json_arguments_are_redacted() -> None:
    args = json.dumps({"to": EMAIL, "note": "ok"})
    body = {
        "metadata": {EMAIL: 1},
        "n": 4111111111111111,
        "messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": args}}]}],
    }
    redacted = redact(body, SCANNER.scan_body(body))
    text = json.dumps(redacted.body)
    assert EMAIL not in text and "4111111111111111" not in text
    inner = json.loads(redacted.body["messages"][0]["tool_calls"][0]["function"]["arguments"])
    assert inner == {"to": "<EMAIL_1>", "note": "ok"}


def test_apply_redacts_the_body_as_finally_sent() -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": f"mail {EMAIL}"}]}
    redacted = redact(body, SCANNER.scan_body(body))
    sent = redacted.apply({**body, "model": "gpt-4o", "stream_options": {"include_usage": True}})
    assert sent["model"] == "gpt-4o" and sent["messages"][0]["content"] == "mail <EMAIL_1>"


def test_restore_json_answer_and_tool_arguments() -> None:
    restorer = Restorer({"<EMAIL_1>": 'a"b@x.de'})
    answer = {
        "choices": [
            {
                "message": {
                    "content": "to <EMAIL_1>",
                    "tool_calls": [{"function": {"arguments": json.dumps({"to": "<EMAIL_1>"})}}],
                }
            }
        ]
    }
    restored = restorer.restore_json(answer)
    message = restored["choices"][0]["message"]
    assert message["content"] == 'to a"b@x.de'
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"to": 'a"b@x.de'}


@given(st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=30))
def test_stream_restores_placeholders_cut_anywhere(cuts: list[int]) -> None:
    values = {"<EMAIL_1>": EMAIL, "<CARD_12>": CARD}
    text = "Hi <EMAIL_1>, card <CARD_12>; a < b and <x> stay. <EMAIL_1>"
    pieces, at = [], 0
    for cut in cuts * 10:
        if at >= len(text):
            break
        pieces.append(text[at : at + cut])
        at += cut
    pieces.append(text[at:])
    restorer = Restorer(values)
    out = "".join(restorer.stream(("c",), p) for p in pieces) + restorer.flush().get(("c",), "")
    assert out == Restorer(values).text(text)
    assert out.count(EMAIL) == 2 and CARD in out
