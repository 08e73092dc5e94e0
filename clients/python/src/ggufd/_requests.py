"""Builds GenerateRequest messages from keyword arguments, shared by the sync
and asyncio clients so both accept exactly the same parameters."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict, Union

from ggufd.v1 import generation_options_pb2 as options_pb2
from ggufd.v1 import inference_pb2

# A chat turn: a ChatMessage or a {"role": ..., "content": ...} mapping.
Message = Union[inference_pb2.ChatMessage, Mapping[str, str]]
# A prompt: text, or token ids used as they are.
Prompt = Union[str, Sequence[int]]


class GenerateOptions(TypedDict, total=False):
    """Keyword arguments of generate(), generate_text(), complete(), chat().

    Every sampling/stopping field left out keeps the runtime's default.
    With `session_id` the prompt (text, token ids, or only the new chat
    messages) is appended to that session's history on the server.
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
    return request
