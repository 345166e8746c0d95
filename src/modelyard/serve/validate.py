"""Requests checked against OpenAI's request schema before anything is forwarded.

Fields the schema defines are checked for type and range (roles, content part types, ``n``,
``max_tokens``, tools, ``response_format`` ...); fields it does not define pass through
untouched, as vendor extensions (vLLM's ``top_k``, say) must. A request that fails gets 400 with
``param`` naming the field the way OpenAI does (``messages[0].role``). The models only check:
the payload forwarded is the client's own, never a re-serialized copy of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    with_config,
)
from pydantic import StrictFloat as _StrictFloat
from typing_extensions import TypedDict

from modelyard.serve.errors import GatewayError

Number = StrictInt | _StrictFloat
MAX_N = 128
"""OpenAI's largest `n`."""
OPEN = ConfigDict(extra="allow")
"""Schema objects are TypedDicts (checked without building objects: a quarter of a model's
cost) whose unknown keys pass."""


@with_config(OPEN)
class TextPart(TypedDict):
    type: Literal["text"]
    text: StrictStr


@with_config(OPEN)
class ImageUrl(TypedDict):
    url: StrictStr
    detail: NotRequired[Literal["auto", "low", "high"]]


@with_config(OPEN)
class ImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageUrl


@with_config(OPEN)
class InputAudio(TypedDict):
    data: StrictStr
    format: StrictStr


@with_config(OPEN)
class AudioPart(TypedDict):
    type: Literal["input_audio"]
    input_audio: InputAudio


@with_config(OPEN)
class FileRef(TypedDict):
    file_data: NotRequired[StrictStr]
    file_id: NotRequired[StrictStr]
    filename: NotRequired[StrictStr]


@with_config(OPEN)
class FilePart(TypedDict):
    type: Literal["file"]
    file: FileRef


@with_config(OPEN)
class RefusalPart(TypedDict):
    type: Literal["refusal"]
    refusal: StrictStr


UserPart = Annotated[TextPart | ImagePart | AudioPart | FilePart, Field(discriminator="type")]
AssistantPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]
Texts = StrictStr | Annotated[list[TextPart], Field(min_length=1)]


@with_config(OPEN)
class FunctionCall(TypedDict):
    name: StrictStr
    arguments: StrictStr


@with_config(OPEN)
class ToolCall(TypedDict):
    id: StrictStr
    type: Literal["function"]
    function: FunctionCall


@with_config(OPEN)
class SystemMessage(TypedDict):
    role: Literal["system"]
    content: Texts
    name: NotRequired[StrictStr]


@with_config(OPEN)
class DeveloperMessage(TypedDict):
    role: Literal["developer"]
    content: Texts
    name: NotRequired[StrictStr]


@with_config(OPEN)
class UserMessage(TypedDict):
    role: Literal["user"]
    content: StrictStr | Annotated[list[UserPart], Field(min_length=1)]
    name: NotRequired[StrictStr]


@with_config(OPEN)
class AssistantMessage(TypedDict):
    role: Literal["assistant"]
    content: NotRequired[StrictStr | list[AssistantPart] | None]
    tool_calls: NotRequired[list[ToolCall] | None]
    function_call: NotRequired[FunctionCall | None]
    refusal: NotRequired[StrictStr | None]
    name: NotRequired[StrictStr]


@with_config(OPEN)
class ToolMessage(TypedDict):
    role: Literal["tool"]
    content: Texts
    tool_call_id: StrictStr


@with_config(OPEN)
class FunctionMessage(TypedDict):
    role: Literal["function"]
    content: StrictStr | None
    name: StrictStr


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage
    | FunctionMessage,
    Field(discriminator="role"),
]  # fmt: skip


@with_config(OPEN)
class FunctionDef(TypedDict):
    name: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: NotRequired[StrictStr]
    parameters: NotRequired[dict[str, Any]]
    strict: NotRequired[StrictBool | None]


@with_config(OPEN)
class Tool(TypedDict):
    type: Literal["function"]
    function: FunctionDef


@with_config(OPEN)
class Named(TypedDict):
    name: StrictStr


@with_config(OPEN)
class ToolChoice(TypedDict):
    type: Literal["function"]
    function: Named


@with_config(OPEN)
class JsonSchema(TypedDict):
    name: StrictStr
    schema: NotRequired[dict[str, Any]]
    strict: NotRequired[StrictBool | None]


@with_config(OPEN)
class ResponseFormat(TypedDict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: NotRequired[JsonSchema]


@with_config(OPEN)
class StreamOptions(TypedDict):
    include_usage: NotRequired[StrictBool | None]


@with_config(OPEN)
class Sampling(TypedDict):
    """Fields chat and completions share."""

    model: Annotated[StrictStr, Field(min_length=1)]
    stream: NotRequired[StrictBool | None]
    stream_options: NotRequired[StreamOptions | None]
    n: NotRequired[Annotated[StrictInt, Field(ge=1, le=MAX_N)] | None]
    temperature: NotRequired[Annotated[Number, Field(ge=0, le=2)] | None]
    top_p: NotRequired[Annotated[Number, Field(ge=0, le=1)] | None]
    presence_penalty: NotRequired[Annotated[Number, Field(ge=-2, le=2)] | None]
    frequency_penalty: NotRequired[Annotated[Number, Field(ge=-2, le=2)] | None]
    stop: NotRequired[StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None]
    seed: NotRequired[StrictInt | None]
    user: NotRequired[StrictStr | None]
    logit_bias: NotRequired[dict[str, Annotated[Number, Field(ge=-100, le=100)]] | None]


@with_config(OPEN)
class ChatRequest(Sampling):
    messages: Annotated[list[Message], Field(min_length=1)]
    max_tokens: NotRequired[Annotated[StrictInt, Field(ge=1)] | None]
    max_completion_tokens: NotRequired[Annotated[StrictInt, Field(ge=1)] | None]
    tools: NotRequired[list[Tool] | None]
    tool_choice: NotRequired[Literal["none", "auto", "required"] | ToolChoice | None]
    parallel_tool_calls: NotRequired[StrictBool | None]
    functions: NotRequired[list[FunctionDef] | None]
    response_format: NotRequired[ResponseFormat | None]
    logprobs: NotRequired[StrictBool | None]
    top_logprobs: NotRequired[Annotated[StrictInt, Field(ge=0, le=20)] | None]


TokenIds = Annotated[list[StrictInt], Field(min_length=1)]
Prompt = (
    StrictStr
    | Annotated[list[StrictStr], Field(min_length=1)]
    | TokenIds
    | Annotated[list[TokenIds], Field(min_length=1)]
)


@with_config(OPEN)
class CompletionRequest(Sampling):
    prompt: Prompt
    max_tokens: NotRequired[Annotated[StrictInt, Field(ge=0)] | None]
    best_of: NotRequired[Annotated[StrictInt, Field(ge=1, le=20)] | None]
    echo: NotRequired[StrictBool | None]
    logprobs: NotRequired[Annotated[StrictInt, Field(ge=0, le=5)] | None]
    suffix: NotRequired[StrictStr | None]


@with_config(OPEN)
class EmbeddingRequest(TypedDict):
    model: Annotated[StrictStr, Field(min_length=1)]
    input: Prompt
    encoding_format: NotRequired[Literal["float", "base64"] | None]
    dimensions: NotRequired[Annotated[StrictInt, Field(ge=1)] | None]
    user: NotRequired[StrictStr | None]


SCHEMAS: dict[str, TypeAdapter[Any]] = {
    "chat.completions": TypeAdapter(ChatRequest),
    "completions": TypeAdapter(CompletionRequest),
    "embeddings": TypeAdapter(EmbeddingRequest),
}
"""One validator per endpoint name (``routes.Endpoint.name``)."""
KINDS = {
    "string_type": "a string", "list_type": "an array", "dict_type": "an object",
    "model_type": "an object", "model_attributes_type": "an object", "int_type": "an integer",
    "float_type": "a number", "bool_type": "a boolean", "none_required": "null",
}  # fmt: skip
"""What a type error's expected type is called in an answer."""


def check_request(endpoint: str, payload: dict[str, Any]) -> None:
    """Check ``payload`` against the schema of ``endpoint``.

    Raises:
        GatewayError: 400, ``param`` naming the first field in error.
    """
    try:
        SCHEMAS[endpoint].validate_python(payload)
    except ValidationError as exc:
        raise _error(exc.errors(include_url=False, include_input=False), payload) from None


def _error(errors: list[Any], payload: dict[str, Any]) -> GatewayError:
    """The 400 for the first field in error; within it, the deepest error: where a union's
    alternative got furthest (a list of content parts, not the string it is not)."""
    located = [(_param(e, payload), e) for e in errors]
    field = errors[0]["loc"][0] if errors[0]["loc"] else None
    ours = [pe for pe, e in zip(located, errors, strict=True) if (e["loc"] or [None])[0] == field]
    param = max(ours, key=lambda pe: _depth(pe[0]))[0]
    at = [e for p, e in located if p == param]
    message, code = _message(param, at, _value(param, payload))
    return GatewayError(400, message, param=param, code=code)


def _depth(param: str) -> int:
    return param.count(".") + param.count("[")


def _param(error: Any, payload: Any) -> str:
    """Where ``error`` is, as OpenAI names a field (``messages[0].content``): its location
    followed through the payload, leaving out pydantic's labels for union members."""
    loc, kind = error["loc"], error["type"]
    path, node = "", payload
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            path, node = f"{path}[{part}]", node[part]
        elif isinstance(node, dict) and part in node:
            path, node = f"{path}.{part}" if path else part, node[part]
        elif i == len(loc) - 1 and kind == "missing":
            path = f"{path}.{part}" if path else str(part)
    if kind.startswith("union_tag"):
        path += "." + error["ctx"]["discriminator"].strip("'")
    return path


def _message(param: str, errors: list[Any], value: Any) -> tuple[str, str]:
    """What is wrong at ``param``, and OpenAI's code for it."""
    constraint = [e for e in errors if e["type"] not in KINDS]
    first = constraint[0] if constraint else errors[0]
    kind = first["type"]
    if kind in ("missing", "union_tag_not_found"):
        return f"Missing required parameter: '{param}'.", "missing_required_parameter"
    if kind == "union_tag_invalid":
        ctx = first["ctx"]
        return (f"Invalid value for '{param}': {ctx['tag']!r}. Supported values are: "
                f"{ctx['expected_tags']}."), "invalid_value"  # fmt: skip
    if constraint:
        return (
            f"Invalid value for '{param}': {first['msg'][0].lower()}{first['msg'][1:]}.",
            "invalid_value",
        )
    wanted = list(dict.fromkeys(KINDS[e["type"]] for e in errors))
    if "a number" in wanted and "an integer" in wanted:
        wanted.remove("an integer")
    return (f"Invalid type for '{param}': expected {' or '.join(wanted)}, but got "
            f"{_json_type(value)} instead."), "invalid_type"  # fmt: skip


def _value(param: str, payload: Any) -> Any:
    """The value at ``param`` in ``payload`` (None when it is not there)."""
    node = payload
    for part in param.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and isinstance(node, list):
            node = node[int(part[1:-1])]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in ((str, "a string"), (dict, "an object"), (list, "an array")):
        if isinstance(value, kind):
            return name
    return "a number"
