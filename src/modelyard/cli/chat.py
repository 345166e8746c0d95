"""`yard chat`: ask the gateway one question, or hold a conversation with it (like `ollama run`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import err_console
from modelyard.config import GATEWAY_URL, yard_home

if TYPE_CHECKING:
    from modelyard.serve import Conversation, ConversationStore

BLOCK = '"""'
HELP = f"/bye ends, /clear starts a fresh conversation, {BLOCK} opens and closes several lines"


def chat_command(
    prompt: Annotated[str | None, typer.Argument(help="What to ask; none: a conversation")] = None,
    model: Annotated[str | None, typer.Option("-m", "--model", envvar="YARD_MODEL",
                                              help="Model name the gateway serves [default: "
                                                   "default, or the conversation's]")] = None,
    url: Annotated[str, typer.Option("-u", "--url", envvar="YARD_URL",
                                     help="Gateway address")] = GATEWAY_URL,
    key: Annotated[str | None, typer.Option("-k", "--key", envvar="YARD_API_KEY",
                                            help="Gateway API key")] = None,
    max_tokens: Annotated[int | None, typer.Option("-n", "--max-tokens",
                                                   help="Longest answer, in tokens")] = 512,
    system: Annotated[str | None, typer.Option("-s", "--system",
                                               help="System prompt of a new conversation")] = None,
    continue_: Annotated[bool, typer.Option("-C", "--continue",
                                            help="Continue the latest conversation")] = False,
    cid: Annotated[str | None, typer.Option("--cid", help="Continue this conversation")] = None,
) -> None:  # fmt: skip
    """Ask the gateway a question; without one, hold a conversation

    Without a prompt each line you type is a turn of one conversation, sent with all the turns
    before it. Conversations are saved in YARD_HOME/chat after every answer: --continue (or
    --cid ID) takes one up again. /bye or Ctrl-D ends, /clear starts afresh, and Ctrl-C stops
    an answer that runs too long.

    \b
    Examples:
      yard chat "Name three prime numbers"
      yard chat -m llama --url http://gpu-box:4000
      yard chat --continue "And the next three?"
    """
    from modelyard.serve import ConversationStore

    store = ConversationStore(yard_home() / "chat")
    if continue_ or cid:
        conversation = store.load(cid)
        conversation.model = model or conversation.model
    else:
        conversation = store.new(model or "default", system)
    turn = Turn(store, url, key, max_tokens)
    if prompt is not None:
        turn(conversation, prompt)
        return
    converse(conversation, turn, system)


class Turn:
    """Asks the gateway one turn of a conversation, prints the answer as it streams, and keeps
    the turn (saved) once the answer is complete."""

    def __init__(
        self, store: ConversationStore, url: str, key: str | None, max_tokens: int | None
    ) -> None:
        self.store = store
        self.url, self.key, self.max_tokens = url, key, max_tokens

    def __call__(self, conversation: Conversation, prompt: str) -> None:
        from modelyard.serve import reply

        pieces: list[str] = []
        asked = conversation.asked(prompt)
        try:
            for piece in reply(self.url, conversation.model, asked, self.key, self.max_tokens):
                pieces.append(piece)
                typer.echo(piece, nl=False)
        finally:
            if pieces:  # the answer's line ends, even when the stream broke off
                typer.echo()
        conversation.add(prompt, "".join(pieces))
        self.store.save(conversation)


def converse(conversation: Conversation, turn: Turn, system: str | None) -> None:
    """Read turns from stdin until /bye or its end; a failed or stopped turn is not kept."""
    from modelyard.errors import BackendError

    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (line editing and history for input())

        err_console.print(f"[dim]{conversation.model} at {turn.url}: {HELP}[/]")
    while True:
        try:
            text = _read(interactive)
        except EOFError:
            break
        except KeyboardInterrupt:
            err_console.print("\n[dim]Ctrl-D or /bye to leave[/]")
            continue
        command = text.strip()
        if command in ("/bye", "/exit", "/quit"):
            break
        if command in ("/help", "/?"):
            err_console.print(HELP)
        elif command == "/clear":
            conversation = turn.store.new(conversation.model, system)
            err_console.print("[dim]a fresh conversation[/]")
        elif command:
            try:
                turn(conversation, text)
            except BackendError as exc:
                err_console.print(f"[red]{exc}[/] (that turn is not kept)", soft_wrap=True)
            except KeyboardInterrupt:
                err_console.print("\n[dim]stopped (that turn is not kept)[/]")
    if conversation.turns:
        err_console.print(f"[dim]saved; continue with: yard chat --cid {conversation.id}[/]")


def _read(interactive: bool) -> str:
    """One turn: a line, or the lines between two lines of three double quotes."""
    line = input(">>> " if interactive else "")
    if line.strip() != BLOCK:
        return line
    lines = []
    while (line := input("... " if interactive else "")).strip() != BLOCK:
        lines.append(line)
    return "\n".join(lines)
