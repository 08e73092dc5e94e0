"""The OpenAI-compatible HTTP API (`ggufd serve --http-port`) against a real
ggufd with the default model, through clients nobody here wrote: the official
`openai` Python package and `curl`, with raw sockets where a test needs to
misbehave (disconnect, oversized bodies). The gRPC API (the ggufd Python
client) is the yardstick: the HTTP door must give the same answers, the same
reasons and the same admission, cancellation, session and auth rules,
because it runs the same code."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import math
import pathlib
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import ggufd
import jsonschema
import openai
import pytest
from ggufd.v1 import testing_pb2, testing_pb2_grpc
from grpc_server import GrpcServer

# SmolLM2's end-of-generation tokens (<|endoftext|>, <|im_end|>): banning
# them makes a generation run to max_tokens.
NO_EOS = {"0": -100, "2": -100}
CHAT = [{"role": "user", "content": "What is the capital of France?"}]
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def wait_for(what, fn, timeout=30.0):
    """Polls fn until it returns a true value (a generous bound that only
    a hang hits, not a timing check)."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        time.sleep(0.01)


class Server(GrpcServer):
    """`ggufd serve` on 127.0.0.1 with the default model, the HTTP API on a
    free port, test hooks and metrics; the ports come from its "listening"
    log line."""

    def __init__(self, ggufd_bin, model, *extra, queue_capacity=4):
        super().__init__(ggufd_bin, model, "--metrics-port", "0", "--http-port", "0",
                         "--queue-capacity", str(queue_capacity), "--enable-test-hooks",
                         *extra)
        self.http_port = int(self.listening["http_port"])
        self.metrics_port = int(self.listening["metrics_port"])
        assert self.http_port > 0, self.listening
        self.base_url = f"http://127.0.0.1:{self.http_port}/v1"
        self.grpc = ggufd.Client(f"127.0.0.1:{self.port}", timeout=120)

    def openai(self, api_key="unused", **kwargs) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=api_key, max_retries=0,
                             timeout=120, **kwargs)

    def request(self, method, path, body=None, headers=None):
        """A raw HTTP request: (status, headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=120)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def hooks(self):
        return testing_pb2_grpc.TestHooksStub(self.grpc.channel)

    def stall(self, ms=60000):
        self.hooks().InjectFault(testing_pb2.InjectFaultRequest(
            runtime="default", fault=testing_pb2.FAULT_STALL_WORKER, stall_ms=ms))
        wait_for("the stall to run",
                 lambda: self.grpc.status().running_operation != "")

    def resume(self):
        self.hooks().InjectFault(testing_pb2.InjectFaultRequest(
            runtime="default", fault=testing_pb2.FAULT_RESUME_WORKER))

    def idle(self):
        status = self.grpc.status()
        return status.running_operation == "" and status.queue_depth == 0

    def rpc_lines(self, method):
        out = []
        for line in list(self.log):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "rpc" and entry.get("method") == method:
                out.append(entry)
        return out

    def metric(self, name, **labels):
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=30)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match and match.group("name") == name and \
                    dict(_LABEL.findall(match.group("labels") or "")) == labels:
                return float(match.group("value"))
        return 0.0

@pytest.fixture(scope="module")
def server(ggufd_bin, default_model):
    s = Server(ggufd_bin, default_model, queue_capacity=1)
    yield s
    s.resume()
    s.stop()


@pytest.fixture()
def client(server):
    assert wait_for("an idle runtime", server.idle)
    return server.openai()


def grpc_text(server, **options):
    """The text and Finished of a gRPC Generate, evaluated from an empty
    cache (as the HTTP call it is compared with)."""
    server.grpc.reset()
    generation = server.grpc.generate(**options)
    text = generation.text()
    return text, generation.finished


def sse_events(raw: bytes) -> list[str]:
    """The data of each server-sent event of a body, checking the framing:
    every event is one `data: ` line ended by an empty line."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n"), text[-200:]
    events = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block, block
        events.append(block[len("data: "):])
    return events


# --- answers: the same as gRPC's ---------------------------------------------


def test_greedy_chat_equals_grpc_generate(server, client):
    server.grpc.reset()
    answer = client.chat.completions.create(model="default", messages=CHAT,
                                            temperature=0, max_tokens=48)
    text, finished = grpc_text(server, messages=CHAT, temperature=0, max_tokens=48)
    choice = answer.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == text and text
    assert answer.object == "chat.completion"
    assert answer.model == "default"
    assert answer.id.startswith("chatcmpl-req-")
    expected = "length" if finished.reason == ggufd.FinishReason.FINISH_REASON_MAX_TOKENS \
        else "stop"
    assert choice.finish_reason == expected
    assert answer.usage.prompt_tokens == finished.usage.prompt_tokens
    assert answer.usage.completion_tokens == finished.usage.completion_tokens
    assert answer.usage.total_tokens == \
        finished.usage.prompt_tokens + finished.usage.completion_tokens


def test_streaming_chat_gives_the_same_text_in_chunks(server, client):
    server.grpc.reset()
    answer = client.chat.completions.create(messages=CHAT, model="default", temperature=0,
                                            max_tokens=40)
    whole = answer.choices[0].message.content
    server.grpc.reset()
    chunks = list(client.chat.completions.create(
        messages=CHAT, model="default", temperature=0, max_tokens=40, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert len([p for p in pieces if p]) > 3, "streamed as one piece"
    assert "".join(pieces) == whole
    assert len({c.id for c in chunks}) == 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == answer.choices[0].finish_reason
    assert all(f is None for f in finishes[:-1])
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == answer.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_completions_stream_and_not_match_grpc(server, client):
    prompt = "Once upon a time"
    server.grpc.reset()
    answer = client.completions.create(model="default", prompt=prompt, temperature=0,
                                       max_tokens=24)
    text, finished = grpc_text(server, prompt=prompt, temperature=0, max_tokens=24)
    assert answer.object == "text_completion"
    assert answer.choices[0].text == text
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens == finished.usage.completion_tokens == 24
    server.grpc.reset()
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="default", prompt=prompt, temperature=0, max_tokens=24, stream=True))
    assert streamed == text
    # A token-id prompt is the same prompt.
    ids = server.grpc.tokenize(prompt)
    server.grpc.reset()
    by_ids = client.completions.create(model="default", prompt=ids, temperature=0,
                                       max_tokens=24, extra_body={})
    assert by_ids.choices[0].text == text


def test_stop_string_finishes_with_stop(server, client):
    server.grpc.reset()
    full = client.completions.create(model="default", prompt="Once upon a time",
                                     temperature=0, max_tokens=24).choices[0].text
    word = full.split()[3]
    server.grpc.reset()
    cut = client.completions.create(model="default", prompt="Once upon a time",
                                    temperature=0, max_tokens=24, stop=[word])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == full[:full.index(word)]


def test_seeded_sampling_is_reproducible(server, client):
    kwargs = dict(model="default", messages=CHAT, temperature=0.9, top_p=0.9, seed=7,
                  max_tokens=24, presence_penalty=0.5, frequency_penalty=0.3)
    first = client.chat.completions.create(**kwargs).choices[0].message.content
    second = client.chat.completions.create(**kwargs).choices[0].message.content
    assert first == second


def test_logprobs_match_grpc_and_spell_alternatives(server, client):
    server.grpc.reset()
    answer = client.chat.completions.create(model="default", messages=CHAT, temperature=0,
                                            max_tokens=8, logprobs=True, top_logprobs=3)
    server.grpc.reset()
    tokens = []
    for event in server.grpc.generate(messages=CHAT, temperature=0, max_tokens=8,
                                      logprobs=True, top_logprobs=3, token_ids=True,
                                      token_bytes=True):
        if isinstance(event, ggufd.Chunk):
            tokens.extend(event.tokens)
    content = answer.choices[0].logprobs.content
    assert len(content) == len(tokens) == answer.usage.completion_tokens > 1
    for entry, token in zip(content, tokens):
        assert bytes(entry.bytes) == token.bytes
        assert math.isclose(entry.logprob, token.logprob, abs_tol=1e-6)
        assert len(entry.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert math.isclose(entry.logprob, entry.top_logprobs[0].logprob, abs_tol=1e-6)
        for alt, want in zip(entry.top_logprobs, token.top_logprobs):
            assert alt.token == server.grpc.detokenize([want.id])
            assert math.isclose(alt.logprob, want.logprob, abs_tol=1e-6)
    legacy = client.completions.create(model="default", prompt="Once upon a time",
                                       temperature=0, max_tokens=5, logprobs=2)
    lp = legacy.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 5
    assert "".join(lp.tokens) == legacy.choices[0].text
    assert all(len(top) == 2 for top in lp.top_logprobs)


def test_json_schema_response_format_is_valid_json(server, client):
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer", "minimum": 0},
            "landmarks": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["city", "population", "landmarks"],
        "additionalProperties": False,
    }
    answer = client.chat.completions.create(
        model="default", temperature=0, max_tokens=200,
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "city", "schema": schema}})
    assert answer.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(answer.choices[0].message.content), schema)
    any_json = client.chat.completions.create(
        model="default", temperature=0, max_tokens=100, messages=CHAT,
        response_format={"type": "json_object"})
    json.loads(any_json.choices[0].message.content)


def test_embeddings_match_grpc_embed(server, client):
    texts = ["The capital of France is Paris.", "Bonjour"]
    want = server.grpc.embed(texts).vectors
    floats = client.embeddings.create(model="default", input=texts, encoding_format="float")
    assert floats.object == "list" and floats.model == "default"
    assert [d.index for d in floats.data] == [0, 1]
    assert floats.usage.prompt_tokens == floats.usage.total_tokens > 0
    for got, expected in zip(floats.data, want):
        assert len(got.embedding) == len(expected)
        assert max(abs(a - b) for a, b in zip(got.embedding, expected)) < 1e-6
    # The client's default asks for base64 and decodes it itself.
    decoded = client.embeddings.create(model="default", input=texts[0])
    assert decoded.data[0].embedding == pytest.approx(list(want[0]), abs=1e-6)
    status, _, body = server.request("POST", "/v1/embeddings",
                                     {"input": texts[1], "encoding_format": "base64"})
    assert status == 200
    raw = base64.b64decode(json.loads(body)["data"][0]["embedding"])
    values = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert values == pytest.approx(list(want[1]), abs=1e-6)


def test_models_list_the_runtimes(server, client):
    server.grpc.create_runtime("empty")
    try:
        ids = [m.id for m in client.models.list()]
        assert ids == ["default"], "a runtime without a model is not listed"
        model = client.models.retrieve("default")
        assert model.object == "model" and model.owned_by == "ggufd"
        with pytest.raises(openai.NotFoundError) as missing:
            client.models.retrieve("gpt-4")
        assert missing.value.code == "model_not_found"
        with pytest.raises(openai.BadRequestError) as empty:
            client.chat.completions.create(model="empty", messages=CHAT)
        assert empty.value.code == "NO_MODEL"
    finally:
        server.grpc.delete_runtime("empty")


# --- errors: OpenAI's shape, ggufd's reasons --------------------------------


@pytest.mark.parametrize("kwargs, status, code, param", [
    ({"model": "gpt-4"}, 404, "model_not_found", "model"),
    ({"n": 2}, 400, "INVALID_ARGUMENT", "n"),
    ({"top_p": 7}, 400, "INVALID_ARGUMENT", "top_p"),
    ({"max_tokens": 100000}, 400, "LIMIT_EXCEEDED", "max_tokens"),
    ({"messages": []}, 400, "INVALID_ARGUMENT", "messages"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, 400,
     "INVALID_ARGUMENT", "tools"),
    ({"extra_body": {"session_id": "no spaces"}}, 400, "INVALID_ARGUMENT", "session_id"),
])
def test_errors_name_the_reason_and_the_field(client, kwargs, status, code, param):
    args = {"model": "default", "messages": CHAT, **kwargs}
    with pytest.raises(openai.APIStatusError) as error:
        client.chat.completions.create(**args)
    assert error.value.status_code == status
    assert error.value.code == code
    assert error.value.param == param
    assert error.value.body["message"]


def test_malformed_and_oversized_bodies(server):
    for body in (b"{not json", b"[1, 2]", b"[" * 10000 + b"]" * 10000, b"\xff\xfe"):
        status, _, raw = server.request("POST", "/v1/chat/completions", body)
        error = json.loads(raw)["error"]
        assert status == 400 and error["type"] == "invalid_request_error", raw
        assert error["code"] == "INVALID_ARGUMENT"
    # Refused from the head alone: the 5 MB are never read.
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=30) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 5000000\r\n\r\n")
        head = b""
        while chunk := s.recv(65536):  # the server closes after answering
            head += chunk
        head = head.decode()
    assert head.startswith("HTTP/1.1 413"), head
    assert '"code":"MESSAGE_TOO_LARGE"' in head
    status, _, raw = server.request("POST", "/v1/nothing", {})
    assert status == 404 and json.loads(raw)["error"]["code"] is None
    # An endless head is cut off at its limit, not buffered.
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=30) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(200):
                s.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass  # the server closed it
        assert s.recv(65536).startswith(b"HTTP/1.1 400")


def test_queue_full_is_429_with_retry_after(server, client):
    server.stall()
    try:
        # One request waits in the queue (capacity 1) behind the stall...
        waiting = threading.Thread(target=lambda: client.chat.completions.create(
            model="default", messages=CHAT, max_tokens=2))
        waiting.start()
        wait_for("a queued request", lambda: server.grpc.status().queue_depth == 1)
        # ...so the next one is refused at once.
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="default", messages=CHAT, max_tokens=2)
        assert refused.value.status_code == 429
        assert refused.value.code == "QUEUE_FULL"
        assert refused.value.response.headers["retry-after"] == "1"
        assert refused.value.response.headers["retry-after-ms"] == "200"
        result = subprocess.run(
            ["curl", "-s", "-i", f"{server.base_url}/completions", "-d",
             '{"prompt": "Hi", "max_tokens": 2}'], capture_output=True, text=True, check=True)
        assert result.stdout.startswith("HTTP/1.1 429"), result.stdout
        assert "Retry-After: 1" in result.stdout
    finally:
        server.resume()
    waiting.join(60)
    assert server.rpc_lines("OpenAI/ChatCompletions")[-1]["code"] == "OK"


# --- the client going away ---------------------------------------------------


def open_stream(server, path, body):
    """Sends a request on a raw socket and reads until its first event."""
    s = socket.create_connection(("127.0.0.1", server.http_port), timeout=60)
    data = json.dumps(body).encode()
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    received = b""
    while b"data: " not in received:
        chunk = s.recv(65536)
        assert chunk, received
        received += chunk
    return s


def test_disconnect_cancels_a_streaming_generation_within_a_token(server, client):
    before = server.grpc.status().counters.generated_tokens
    s = open_stream(server, "/v1/completions", {
        "prompt": "Once upon a time", "max_tokens": 3000, "stream": True,
        "logit_bias": NO_EOS})
    wait_for("tokens", lambda: server.grpc.status().running_operation == "generate")
    time.sleep(0.3)
    s.close()
    closed = time.monotonic()
    wait_for("the runtime to go idle", server.idle, timeout=10)
    assert time.monotonic() - closed < 1.0, "the generation ran on after the disconnect"
    generated = server.grpc.status().counters.generated_tokens - before
    assert 0 < generated < 3000
    line = wait_for("the log line", lambda: [
        e for e in server.rpc_lines("OpenAI/Completions") if e.get("code") == "CANCELLED"])
    assert "disconnected" in line[-1]["error"]


def test_disconnect_cancels_a_non_streaming_generation(server, client):
    s = socket.create_connection(("127.0.0.1", server.http_port), timeout=60)
    data = json.dumps({"messages": CHAT, "max_tokens": 3000, "logit_bias": NO_EOS}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
              + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    wait_for("the generation", lambda: server.grpc.status().running_operation == "generate")
    time.sleep(0.3)
    s.close()
    closed = time.monotonic()
    wait_for("the runtime to go idle", server.idle, timeout=10)
    assert time.monotonic() - closed < 1.0


def test_disconnect_while_queued_drops_the_request(server, client):
    cancelled = len([e for e in server.rpc_lines("OpenAI/ChatCompletions")
                     if e["code"] == "CANCELLED"])
    server.stall()
    try:
        s = socket.create_connection(("127.0.0.1", server.http_port), timeout=60)
        data = json.dumps({"messages": CHAT, "max_tokens": 4}).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        wait_for("a queued request", lambda: server.grpc.status().queue_depth == 1)
        s.close()
        # Answered while the worker is still stalled: it never ran.
        wait_for("the cancel", lambda: len([
            e for e in server.rpc_lines("OpenAI/ChatCompletions")
            if e["code"] == "CANCELLED"]) == cancelled + 1, timeout=10)
        assert server.grpc.status().running_operation == "stall"
    finally:
        server.resume()
    wait_for("an idle runtime", server.idle)


# --- sessions and metrics ----------------------------------------------------


def test_sessions_by_header_and_by_field(server, client):
    first = [{"role": "user", "content": "Hi! My name is Ada."}]
    client.chat.completions.create(model="default", messages=first, max_tokens=16,
                                   temperature=0,
                                   extra_headers={"x-ggufd-session": "http-conv-1"})
    second = [{"role": "user", "content": "What is my name?"}]
    client.chat.completions.create(model="default", messages=second, max_tokens=16,
                                   temperature=0, extra_body={"session_id": "http-conv-1"})
    sessions = {s.id: s for s in server.grpc.list_sessions().sessions}
    assert sessions["http-conv-1"].turns == 2
    with pytest.raises(openai.BadRequestError) as both:
        client.chat.completions.create(model="default", messages=second,
                                       extra_headers={"x-ggufd-session": "a"},
                                       extra_body={"session_id": "b"})
    assert both.value.param == "session_id"
    server.grpc.delete_session("http-conv-1")


def test_requests_are_counted_and_logged_like_grpc_calls(server, client):
    before = server.metric("ggufd_requests_total", method="OpenAI/ChatCompletions", code="OK")
    answer = client.with_raw_response.chat.completions.create(
        model="default", messages=CHAT, max_tokens=2, user="end-user-7")
    request_id = answer.headers["x-request-id"]
    assert answer.parse().id == "chatcmpl-" + request_id
    assert server.metric("ggufd_requests_total", method="OpenAI/ChatCompletions",
                         code="OK") == before + 1
    line = [e for e in server.rpc_lines("OpenAI/ChatCompletions")
            if e.get("request_id") == request_id][0]
    assert line["runtime"] == "default" and line["transport"] == "http"
    assert line["user"] == "end-user-7" and line["http_status"] == 200


def test_health(server):
    status, _, body = server.request("GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


# --- curl: the raw wire format -----------------------------------------------


def test_curl_sees_server_sent_events(server, client):
    result = subprocess.run(
        ["curl", "-sN", "-D", "-", f"{server.base_url}/chat/completions",
         "-H", "Content-Type: application/json", "-d",
         json.dumps({"messages": CHAT, "max_tokens": 6, "temperature": 0, "stream": True})],
        capture_output=True, check=True)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"Content-Type: text/event-stream" in head
    assert b"Transfer-Encoding: chunked" in head
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    whole = subprocess.run(
        ["curl", "-s", f"{server.base_url}/completions", "-d",
         json.dumps({"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0})],
        capture_output=True, check=True)
    answer = json.loads(whole.stdout)
    assert answer["object"] == "text_completion" and answer["usage"]["completion_tokens"] == 4
    # Asking for compression never buffers the event stream.
    compressed = subprocess.run(
        ["curl", "-sN", "--compressed", "-D", "-", f"{server.base_url}/completions", "-d",
         json.dumps({"prompt": "Hi", "max_tokens": 3, "stream": True})],
        capture_output=True, check=True)
    assert b"Content-Encoding" not in compressed.stdout.partition(b"\r\n\r\n")[0]


# --- servers of their own: auth, drain, connection limit --------------------


def hash_line(token, role, name):
    return f"{hashlib.sha256(token.encode()).hexdigest()} {role} {name}\n"


def test_bearer_tokens_and_roles_as_on_grpc(ggufd_bin, default_model, tmp_path):
    auth = tmp_path / "auth"
    auth.write_text(hash_line("tok-alice", "inference", "alice")
                    + hash_line("tok-bob", "inference", "bob")
                    + hash_line("tok-admin", "admin", "ops"))
    s = Server(ggufd_bin, default_model, "--auth-file", str(auth))
    try:
        s.grpc = ggufd.Client(f"127.0.0.1:{s.port}", timeout=120, token="tok-admin")
        status, _, body = s.request("POST", "/v1/chat/completions", {"messages": CHAT})
        assert status == 401 and json.loads(body)["error"]["code"] == "UNAUTHENTICATED"
        with pytest.raises(openai.AuthenticationError) as unknown:
            s.openai(api_key="tok-mallory").chat.completions.create(
                model="default", messages=CHAT, max_tokens=2)
        assert unknown.value.code == "UNAUTHENTICATED"
        alice = s.openai(api_key="tok-alice")
        assert [m.id for m in alice.models.list()] == ["default"]
        alice.chat.completions.create(model="default", messages=CHAT, max_tokens=2,
                                      extra_headers={"x-ggufd-session": "alices"})
        with pytest.raises(openai.PermissionDeniedError) as denied:
            s.openai(api_key="tok-bob").chat.completions.create(
                model="default", messages=CHAT, max_tokens=2,
                extra_headers={"x-ggufd-session": "alices"})
        assert denied.value.code == "ACCESS_DENIED"
        assert s.openai(api_key="tok-alice").embeddings.create(model="default", input="x").data
        with pytest.raises(openai.AuthenticationError):
            s.openai(api_key="nope").embeddings.create(model="default", input="x")
        # Health is open, as gRPC health is.
        assert s.request("GET", "/health")[0] == 200
        assert s.metric("ggufd_auth_denials_total", method="OpenAI/ChatCompletions",
                        reason="UNAUTHENTICATED") == 2
        assert s.metric("ggufd_auth_denials_total", method="OpenAI/ChatCompletions",
                        reason="ACCESS_DENIED") == 1
    finally:
        s.stop()


def test_sigterm_finishes_streams_and_refuses_new_calls(ggufd_bin, default_model):
    s = Server(ggufd_bin, default_model, "--grace-period-ms", "30000")
    try:
        client = s.openai()
        stream = client.completions.create(model="default", prompt="Once upon a time",
                                           max_tokens=400, stream=True, logit_bias=NO_EOS)
        pieces = [next(iter(stream)).choices[0].text]
        s.process.send_signal(signal.SIGTERM)
        wait_for("the drain", lambda: any('"draining"' in line for line in s.log))
        status, headers, body = s.request("POST", "/v1/completions",
                                          {"prompt": "Hi", "max_tokens": 2})
        assert status == 503 and json.loads(body)["error"]["code"] == "SHUTTING_DOWN"
        assert headers.get("Retry-After") == "1"
        chunks = list(stream)
        pieces += [c.choices[0].text for c in chunks]
        assert chunks[-1].choices[0].finish_reason == "length"
        assert s.process.wait(60) == 0
        codes = sorted(e["code"] for e in s.rpc_lines("OpenAI/Completions"))
        assert codes == ["OK", "UNAVAILABLE"]
    finally:
        s.stop()


def test_connections_beyond_the_limit(ggufd_bin, default_model):
    s = Server(ggufd_bin, default_model, "--http-max-connections", "2")
    try:
        # Idle keep-alive connections give way to a new one.
        idle = []
        for _ in range(2):
            c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=30)
            c.request("GET", "/health")
            assert c.getresponse().read()
            idle.append(c)
        start = time.monotonic()
        assert s.request("GET", "/health")[0] == 200
        assert time.monotonic() - start < 1.0
        # Two calls waiting for the runtime hold both threads: a third
        # connection is refused after waiting a second for one.
        s.stall()
        busy = [threading.Thread(target=lambda: s.request(
            "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 2})) for _ in range(2)]
        for t in busy:
            t.start()
        wait_for("two queued calls", lambda: s.grpc.status().queue_depth == 2)
        status, headers, body = s.request("GET", "/health")
        assert status == 503 and headers.get("Retry-After") == "1"
        assert json.loads(body)["error"]["code"] == "UNAVAILABLE"
        s.resume()
        for t in busy:
            t.join(60)
        assert s.request("GET", "/health")[0] == 200
    finally:
        s.resume()
        s.stop()


def listening_addresses(port):
    """The local addresses of the TCP sockets listening on `port`
    (/proc/net/tcp and tcp6: hex address:port, state 0A = LISTEN)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_http_is_off_by_default_and_on_the_listen_host(ggufd_bin, default_model):
    proc = subprocess.Popen(
        [str(ggufd_bin), "serve", "--listen", "127.0.0.1:0", "--metrics-port", "-1",
         "--model", str(default_model)], stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            entry = json.loads(line)
            if entry.get("msg") == "listening":
                assert entry["http_port"] == -1
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    # --http-port listens on the --listen host: 127.0.0.1 here.
    s = Server(ggufd_bin, default_model)
    try:
        assert listening_addresses(s.http_port) == ["0100007F"]
    finally:
        s.stop()
