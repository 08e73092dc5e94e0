"""Builds GenerateRequest messages from keyword arguments, shared by the sync
and asyncio clients so both accept exactly the same parameters."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict, Union, cast

from ggufd.v1 import generation_options_pb2 as options_pb2
from ggufd.v1 import inference_pb2

# A chat turn: a ChatMessage or a {"role": ..., "content": ...} mapping.
Message = Union[inference_pb2.ChatMessage, Mapping[str, str]]
# A prompt: text, or token ids used as they are.
Prompt = Union[str, Sequence[int]]
# A JSON Schema: its JSON text, or the document itself (a dict, or a boolean
# schema), which the client serializes.
JsonSchema = Union[str, Mapping[str, Any], bool]
# An embedding pooling: a ggufd.Pooling value or "mean", "last", "cls" (None
# or "unspecified" = the model's own).
PoolingChoice = Union[inference_pb2.Pooling, str, None]


class GenerateOptions(TypedDict, total=False):
    """Keyword arguments of generate(), generate_text(), complete(), chat().

    Every sampling/stopping field left out keeps the runtime's default.
    With `session_id` the prompt (text, token ids, or only the new chat
    messages) is appended to that session's history on the server. At most
    one of `grammar` (GBNF), `json_schema` and `regex` constrains the output;
    the stream then ends with FINISH_REASON_CONSTRAINT_COMPLETE once nothing
    more can follow.
    """

    max_tokens: int
    temperature: float
    top_k: int
    top_p: float
    min_p: float
    repeat_penalty: float
    seed: int
    stop: Sequence[str]
    ignore_eos: bool
    add_special: bool
    reuse_cache: bool
    token_ids: bool
    token_bytes: bool
    logprobs: bool
    top_logprobs: int
    progress_interval: int
    chat_template: str
    request_id: str
    runtime: str
    session_id: str
    grammar: str
    json_schema: JsonSchema
    regex: str


# The GenerateOptions keys that set GenerateRequest.constraint, in the order
# of the oneof.
CONSTRAINT_KINDS = ("grammar", "json_schema", "regex")


def new_request_id() -> str:
    """A unique id, set client-side so a stream can be cancelled by id even
    before its Started event arrives."""
    return "py-" + uuid.uuid4().hex


def chat_messages(messages: Iterable[Message]) -> list[inference_pb2.ChatMessage]:
    out = []
    for m in messages:
        if isinstance(m, inference_pb2.ChatMessage):
            out.append(m)
        else:
            out.append(inference_pb2.ChatMessage(role=m["role"], content=m["content"]))
    return out


def constraint(options: GenerateOptions) -> inference_pb2.Constraint | None:
    """The Constraint the options ask for (None when they set none). More
    than one kind is refused here: the oneof would keep only the last one."""
    values: Mapping[str, object] = options
    given = [kind for kind in CONSTRAINT_KINDS if values.get(kind) is not None]
    if len(given) > 1:
        raise ValueError(
            "give at most one constraint of grammar, json_schema and regex; got " + " and ".join(given)
        )
    if not given:
        return None
    kind = given[0]
    value = values[kind]
    if kind == "json_schema" and not isinstance(value, str):
        # Compact, and ASCII-safe whatever the schema's strings hold.
        value = json.dumps(value, separators=(",", ":"))
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a str, not {type(value).__name__}")
    return inference_pb2.Constraint(**{kind: value})


def generate_request(
    prompt: Prompt | None,
    messages: Iterable[Message] | None,
    default_runtime: str,
    options: GenerateOptions,
) -> inference_pb2.GenerateRequest:
    """The GenerateRequest for a text/token prompt or chat messages."""
    if (prompt is None) == (messages is None):
        raise ValueError("give exactly one of a prompt or chat messages")
    unknown = set(options) - set(GenerateOptions.__annotations__)
    if unknown:
        raise TypeError("unknown generate option(s): " + ", ".join(sorted(unknown)))
    o = options
    request = inference_pb2.GenerateRequest(
        runtime=o.get("runtime", default_runtime),
        request_id=o.get("request_id") or new_request_id(),
        session_id=o.get("session_id", ""),
    )
    if messages is not None:
        request.chat.messages.extend(chat_messages(messages))
        request.chat.template = o.get("chat_template", "")
    elif isinstance(prompt, str):
        request.text = prompt
    else:
        request.tokens.ids.extend(prompt)

    sampling = request.sampling
    for name in ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed"):
        if name in o:
            setattr(sampling, name, o[name])
    stopping = request.stopping
    if "max_tokens" in o:
        stopping.max_tokens = o["max_tokens"]
    if "ignore_eos" in o:
        stopping.ignore_eos = o["ignore_eos"]
    if "stop" in o:
        stopping.stop.CopyFrom(options_pb2.StringList(values=list(o["stop"])))
    if "add_special" in o:
        request.add_special = o["add_special"]
    if "reuse_cache" in o:
        request.reuse_cache = o["reuse_cache"]
    output = request.output
    output.token_ids = o.get("token_ids", False)
    output.token_bytes = o.get("token_bytes", False)
    output.logprobs = o.get("logprobs", False)
    output.top_logprobs = o.get("top_logprobs", 0)
    output.progress_interval = o.get("progress_interval", 0)
    constrained = constraint(o)
    if constrained is not None:
        request.constraint.CopyFrom(constrained)
    return request


def pooling_value(pooling: PoolingChoice) -> inference_pb2.Pooling:
    if pooling is None:
        return inference_pb2.POOLING_UNSPECIFIED
    if isinstance(pooling, str):
        name = pooling.upper()
        if not name.startswith("POOLING_"):
            name = "POOLING_" + name
        try:
            return cast(inference_pb2.Pooling, inference_pb2.Pooling.Value(name))
        except ValueError:
            raise ValueError(f"unknown pooling {pooling!r}: use mean, last or cls") from None
    return pooling


def embed_request(
    texts: Iterable[str],
    runtime: str,
    *,
    pooling: PoolingChoice,
    normalize: bool,
    truncate: bool,
    add_special: bool | None,
    request_id: str | None,
) -> inference_pb2.EmbedRequest:
    """The EmbedRequest for a batch of texts."""
    if isinstance(texts, (str, bytes)):
        # Iterating a str would embed each character on its own.
        raise TypeError("texts must be a list of strings; wrap a single text in a list")
    request = inference_pb2.EmbedRequest(
        runtime=runtime,
        request_id=request_id or "",
        texts=list(texts),
        pooling=pooling_value(pooling),
        normalize=normalize,
        truncate=truncate,
    )
    if add_special is not None:
        request.add_special = add_special
    return request
