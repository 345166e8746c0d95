"""The gateway (`yard serve`): an OpenAI-compatible endpoint over local and remote models, its
ledger, keys and usage reports, and the client behind `yard chat`.

Other packages, the CLI and the benchmarks use these names; each loads its module on first use.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_names

if TYPE_CHECKING:
    from modelyard.serve.app import create_app, serve, uvicorn_options
    from modelyard.serve.auto import reply_confidence
    from modelyard.serve.check import ConfigCheck, check_config
    from modelyard.serve.client import chat, reply
    from modelyard.serve.config import GatewayConfig, default_config
    from modelyard.serve.config_file import load_config
    from modelyard.serve.connections import ConnectionLimits
    from modelyard.serve.conversations import Conversation, ConversationStore
    from modelyard.serve.engine import LocalEngine
    from modelyard.serve.feedback import ledger_labels, logged_prompts
    from modelyard.serve.http_server import protocol_for
    from modelyard.serve.key_fields import KeyEdit
    from modelyard.serve.keys import KeyInfo, KeyStore
    from modelyard.serve.ledger import (
        Ledger,
        LedgerEntry,
        connect,
        count_rows,
        insert_rows,
        new_entry,
    )
    from modelyard.serve.upstream_http import HttpPool
    from modelyard.serve.usage import (
        HourRow,
        UsageRow,
        by_hour,
        open_store,
        parse_since,
        remote_summary,
        status,
        store_url,
        summarize,
    )

__all__ = [
    "ConfigCheck",
    "ConnectionLimits",
    "Conversation",
    "ConversationStore",
    "GatewayConfig",
    "HourRow",
    "HttpPool",
    "KeyEdit",
    "KeyInfo",
    "KeyStore",
    "Ledger",
    "LedgerEntry",
    "LocalEngine",
    "UsageRow",
    "by_hour",
    "chat",
    "check_config",
    "connect",
    "count_rows",
    "create_app",
    "default_config",
    "insert_rows",
    "ledger_labels",
    "load_config",
    "logged_prompts",
    "new_entry",
    "open_store",
    "parse_since",
    "protocol_for",
    "remote_summary",
    "reply",
    "reply_confidence",
    "serve",
    "status",
    "store_url",
    "summarize",
    "uvicorn_options",
]
__getattr__ = lazy_names(__name__, __file__)
