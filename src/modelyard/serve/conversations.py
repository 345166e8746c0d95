"""`yard chat` conversations: the turns so far, kept in one JSON file each under YARD_HOME/chat.

Every request of a conversation sends all its turns, so the model answers in context; the file
is rewritten after each answered turn (to a temporary name, then renamed), so `yard chat
--continue` picks up where the last conversation stopped, and an interrupted turn leaves no
half-written file.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.errors import YardError

Message = dict[str, str]


@dataclass
class Conversation:
    """One conversation: its id, the model it talks to and its messages in order."""

    id: str
    model: str
    messages: list[Message] = field(default_factory=list)

    def asked(self, prompt: str) -> list[Message]:
        """The messages to send for the next turn (the conversation itself is unchanged)."""
        return [*self.messages, {"role": "user", "content": prompt}]

    def add(self, prompt: str, answer: str) -> None:
        """Record an answered turn."""
        self.messages += [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ]

    @property
    def turns(self) -> int:
        return sum(m["role"] == "user" for m in self.messages)


class ConversationStore:
    """The folder of conversation files (YARD_HOME/chat)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new(self, model: str, system: str | None = None) -> Conversation:
        """A fresh conversation (saved with its first answered turn)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        messages = [{"role": "system", "content": system}] if system else []
        return Conversation(f"{stamp}-{uuid.uuid4().hex[:6]}", model, messages)

    def save(self, conversation: Conversation) -> Path:
        """Write the conversation's file in one rename."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{conversation.id}.json"
        partial = path.with_name(f".{path.name}.part")
        document = {"id": conversation.id, "model": conversation.model,
                    "messages": conversation.messages}  # fmt: skip
        partial.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, path)
        return path

    def load(self, conversation_id: str | None = None) -> Conversation:
        """The conversation ``conversation_id``, or the latest one when None.

        Raises:
            YardError: there is none, or its file is not a conversation.
        """
        path = self._latest() if conversation_id is None else self._path(conversation_id)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return Conversation(document["id"], document["model"], list(document["messages"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise YardError(f"{path}: not a readable conversation ({exc})") from None

    def _path(self, conversation_id: str) -> Path:
        path = self.folder / f"{Path(conversation_id).name}.json"
        if not path.is_file():
            raise YardError(f"no conversation {conversation_id!r} in {self.folder}")
        return path

    def _latest(self) -> Path:
        files = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        if not files:
            raise YardError(f"no conversation to continue in {self.folder}")
        return files[-1]
