"""The synchronous ggufd client."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from typing_extensions import Unpack

from ggufd._channel import RetryPolicy, channel_options
from ggufd._common import (
    DEFAULT,
    INFERENCE_SERVICE,
    Chunk,
    Event,
    Finished,
    HealthStatus,
    Started,
    Timeout,
    event_payload,
    resolve_timeout,
)
from ggufd._embeddings import Embeddings, embeddings_from
from ggufd._requests import (
    GenerateOptions,
    Message,
    PoolingChoice,
    Prompt,
    embed_request,
    generate_request,
)
from ggufd._security import BearerInterceptor, PemSource, TokenSource, connection
from ggufd.errors import from_rpc_error
from ggufd.v1 import (
    diagnostics_pb2,
    diagnostics_pb2_grpc,
    inference_pb2,
    inference_pb2_grpc,
    runtime_pb2,
    runtime_pb2_grpc,
    sessions_pb2,
    sessions_pb2_grpc,
)


class Generation(Iterator[Event]):
    """A running Generate call: iterate it for its events.

    Closing it (close(), cancel(), leaving a `with` block, or breaking out of
    a text iterator that is then closed) cancels the call, and the server
    stops generating within one token. Server errors are raised as
    GgufdError subclasses from the iteration.
    """

    def __init__(self, call: Any, request_id: str) -> None:
        self._call = call
        self.request_id = request_id
        self.started: Started | None = None
        self.finished: Finished | None = None
        self._cancelled = False
        self._done = False

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> Event:
        while not self._done:
            try:
                event = next(self._call)
            except StopIteration:
                self._done = True
                raise
            except grpc.RpcError as e:
                self._done = True
                if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                    raise StopIteration from None
                raise from_rpc_error(e) from e
            payload = event_payload(event)
            if isinstance(payload, Started):
                self.started = payload
            elif isinstance(payload, Finished):
                self.finished = payload
            if payload is not None:
                return payload
        raise StopIteration

    def texts(self) -> Generator[str, None, None]:
        """The text of each chunk as it arrives; closing this iterator early
        cancels the call."""
        try:
            for event in self:
                if isinstance(event, Chunk) and event.text:
                    yield event.text
        finally:
            self.close()

    def text(self) -> str:
        """Reads the rest of the stream and returns its text."""
        return "".join(self.texts())

    def cancel(self) -> None:
        """Cancels the call; the iteration then ends without an error."""
        if not self._done:
            self._cancelled = True
            self._call.cancel()

    def close(self) -> None:
        self.cancel()
        self._done = True

    def __enter__(self) -> Generation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Client:
    """A ggufd client over one gRPC channel.

    Args:
        target: "host:port" of the server.
        runtime: the runtime instance calls go to unless they name one
            ("" = the server's "default").
        timeout: default deadline in seconds for every call (None = none);
            each method's `timeout` overrides it.
        retry: the retry policy put in the channel's service config
            (UNAVAILABLE and RESOURCE_EXHAUSTED only); None disables retries.
        tls: use TLS, verifying the server with the system's CA roots
            (implied by tls_ca and tls_cert). Plaintext is the default.
        tls_ca: the CA bundle that verifies the server: a PEM file's path,
            or the PEM itself (bytes, or a str starting with "-----BEGIN").
        tls_cert, tls_key: a client certificate (chain) and its private key
            for mTLS, as paths or PEM bytes; both or neither.
        tls_server_name: the name the server's certificate must carry, when
            it is not the target's host (e.g. "localhost" when dialing
            127.0.0.1); also sent as SNI.
        token: a bearer token sent on every call as `authorization: Bearer
            <token>` metadata (over TLS or plaintext), or a function
            returning the token for each call (rotating tokens).
        token_file: a file whose first line is the token (read once, here).
        credentials: other grpc channel credentials, instead of the tls_*
            arguments; None (and no tls_*) for a plaintext channel.
        options: extra grpc channel arguments.

    Raises ValueError for contradicting security arguments and OSError for
    unreadable certificate or token files.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        runtime: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = RetryPolicy(),
        tls: bool = False,
        tls_ca: PemSource | None = None,
        tls_cert: PemSource | None = None,
        tls_key: PemSource | None = None,
        tls_server_name: str | None = None,
        token: TokenSource | None = None,
        token_file: str | os.PathLike[str] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        conn = connection(
            credentials=credentials,
            tls=tls,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_server_name=tls_server_name,
            token=token,
            token_file=token_file,
        )
        opts = channel_options(retry, [*conn.options, *options])
        if conn.credentials is None:
            channel = grpc.insecure_channel(target, options=opts)
        else:
            channel = grpc.secure_channel(target, conn.credentials, options=opts)
        if conn.token is not None:
            channel = grpc.intercept_channel(channel, BearerInterceptor(conn.token))
        self.channel: grpc.Channel = channel
        self.runtime = runtime
        self.timeout = timeout
        self._inference = inference_pb2_grpc.InferenceStub(self.channel)
        self._runtimes = runtime_pb2_grpc.RuntimeStub(self.channel)
        self._diagnostics = diagnostics_pb2_grpc.DiagnosticsStub(self.channel)
        self._sessions = sessions_pb2_grpc.SessionsStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _rt(self, runtime: str | None) -> str:
        return self.runtime if runtime is None else runtime

    def _unary(self, method: Callable[..., Any], request: Any, timeout: Timeout) -> Any:
        try:
            return method(request, timeout=resolve_timeout(timeout, self.timeout))
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e

    # --- Inference ---

    def generate(
        self,
        prompt: Prompt | None = None,
        *,
        messages: Iterable[Message] | None = None,
        timeout: Timeout = DEFAULT,
        **options: Unpack[GenerateOptions],
    ) -> Generation:
        """Starts a generation from a text (or token-id) prompt or chat
        messages; iterate the result for Started/Progress/Chunk/Finished.

        Options (all optional): max_tokens, temperature, top_k, top_p, min_p,
        repeat_penalty, seed, stop, ignore_eos, add_special, reuse_cache,
        token_ids, token_bytes, logprobs, top_logprobs, progress_interval,
        chat_template, request_id (a unique one is made when absent), runtime,
        session_id (continue that session: the prompt, or only the new chat
        messages, is appended to its history; Started reports session_cache,
        session_tokens and cached_tokens), and at most one constraint:
        grammar (llama.cpp GBNF text), json_schema (JSON text, or a dict
        serialized here) or regex. A constrained stream ends with
        FinishReason.FINISH_REASON_CONSTRAINT_COMPLETE once nothing more can
        follow; a constraint the server cannot use is InvalidArgumentError,
        and more than one kind is ValueError before anything is sent.
        """
        request = generate_request(prompt, messages, self.runtime, options)
        call = self._inference.Generate(
            request, timeout=resolve_timeout(timeout, self.timeout)
        )
        return Generation(call, request.request_id)

    def generate_text(
        self,
        prompt: Prompt | None = None,
        *,
        messages: Iterable[Message] | None = None,
        timeout: Timeout = DEFAULT,
        **options: Unpack[GenerateOptions],
    ) -> Generator[str, None, None]:
        """Like generate(), yielding only the text pieces."""
        return self.generate(prompt, messages=messages, timeout=timeout, **options).texts()

    def complete(
        self, prompt: Prompt, *, timeout: Timeout = DEFAULT, **options: Unpack[GenerateOptions]
    ) -> str:
        """The whole generated continuation of a prompt."""
        return self.generate(prompt, timeout=timeout, **options).text()

    def chat(
        self,
        messages: Iterable[Message],
        *,
        timeout: Timeout = DEFAULT,
        **options: Unpack[GenerateOptions],
    ) -> str:
        """The assistant's answer to chat messages ({"role", "content"}
        mappings or ChatMessage), formatted with the model's chat template."""
        return self.generate(messages=messages, timeout=timeout, **options).text()

    def tokenize(
        self,
        text: str,
        *,
        add_special: bool | None = None,
        parse_special: bool = False,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> list[int]:
        request = inference_pb2.TokenizeRequest(
            runtime=self._rt(runtime), text=text, parse_special=parse_special
        )
        if add_special is not None:
            request.add_special = add_special
        return list(self._unary(self._inference.Tokenize, request, timeout).ids)

    def detokenize(
        self, ids: Iterable[int], *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> str:
        request = inference_pb2.DetokenizeRequest(runtime=self._rt(runtime), ids=list(ids))
        return str(self._unary(self._inference.Detokenize, request, timeout).text)

    def embed(
        self,
        texts: Iterable[str],
        *,
        pooling: PoolingChoice = None,
        normalize: bool = True,
        truncate: bool = False,
        add_special: bool | None = None,
        request_id: str | None = None,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> Embeddings:
        """One embedding vector per text (a list of str; at most 256).

        pooling: "mean", "last", "cls" or a ggufd.Pooling (None = the
        model's own); normalize: scale each vector to unit L2 norm;
        truncate: keep the first tokens of a text longer than the context
        (and flag it in .truncated) instead of InvalidArgumentError.
        """
        request = embed_request(
            texts,
            self._rt(runtime),
            pooling=pooling,
            normalize=normalize,
            truncate=truncate,
            add_special=add_special,
            request_id=request_id,
        )
        return embeddings_from(self._unary(self._inference.Embed, request, timeout))

    def cancel(self, request_id: str, *, timeout: Timeout = DEFAULT) -> bool:
        """Cancels a queued or running generation by id (any client's);
        whether one was found."""
        request = inference_pb2.CancelRequest(request_id=request_id)
        return bool(self._unary(self._inference.Cancel, request, timeout).found)

    # --- Runtime ---

    def load_model(
        self,
        path: str,
        *,
        context_length: int | None = None,
        threads: int | None = None,
        max_batch: int | None = None,
        memory_limit_bytes: int = 0,
        session_memory_bytes: int | None = None,
        on_progress: Callable[[float], None] | None = None,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> runtime_pb2.ModelInfo:
        """Loads a GGUF file (a path inside the server's model directory),
        calling on_progress(fraction) as it goes; returns the model's info."""
        request = runtime_pb2.LoadModelRequest(
            runtime=self._rt(runtime),
            path=path,
            memory_limit_bytes=memory_limit_bytes,
            context_length=context_length,
            threads=threads,
            max_batch=max_batch,
            session_memory_bytes=session_memory_bytes,
        )
        info: runtime_pb2.ModelInfo | None = None
        try:
            for event in self._runtimes.LoadModel(
                request, timeout=resolve_timeout(timeout, self.timeout)
            ):
                if event.HasField("progress") and on_progress is not None:
                    on_progress(event.progress.fraction)
                elif event.HasField("model"):
                    info = event.model
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e
        if info is None:
            raise RuntimeError("LoadModel ended without the model's info")
        return info

    def model_info(
        self, *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> runtime_pb2.ModelInfo:
        request = runtime_pb2.GetModelInfoRequest(runtime=self._rt(runtime))
        return self._unary(self._runtimes.GetModelInfo, request, timeout)  # type: ignore[no-any-return]

    def reset(self, *, runtime: str | None = None, timeout: Timeout = DEFAULT) -> None:
        """Clears the KV cache and a poisoned state; the model stays."""
        self._unary(self._runtimes.Reset, runtime_pb2.ResetRequest(runtime=self._rt(runtime)), timeout)

    def release(self, *, runtime: str | None = None, timeout: Timeout = DEFAULT) -> None:
        """Drops the runtime's model and its memory."""
        self._unary(
            self._runtimes.Release, runtime_pb2.ReleaseRequest(runtime=self._rt(runtime)), timeout
        )

    def create_runtime(
        self, name: str, *, queue_capacity: int = 0, timeout: Timeout = DEFAULT
    ) -> runtime_pb2.RuntimeInfo:
        request = runtime_pb2.CreateRuntimeRequest(name=name, queue_capacity=queue_capacity)
        return self._unary(self._runtimes.CreateRuntime, request, timeout)  # type: ignore[no-any-return]

    def delete_runtime(self, name: str, *, timeout: Timeout = DEFAULT) -> None:
        self._unary(self._runtimes.DeleteRuntime, runtime_pb2.DeleteRuntimeRequest(name=name), timeout)

    def list_runtimes(self, *, timeout: Timeout = DEFAULT) -> list[runtime_pb2.RuntimeInfo]:
        response = self._unary(self._runtimes.ListRuntimes, runtime_pb2.ListRuntimesRequest(), timeout)
        return list(response.runtimes)

    # --- Sessions ---

    def list_sessions(
        self, *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> sessions_pb2.ListSessionsResponse:
        """The runtime's sessions, most recently used first (`.sessions`, each
        a SessionInfo), and the KV cache bytes they hold against their budget
        (`.kv_bytes`, `.kv_budget_bytes`)."""
        request = sessions_pb2.ListSessionsRequest(runtime=self._rt(runtime))
        return self._unary(self._sessions.ListSessions, request, timeout)  # type: ignore[no-any-return]

    def delete_session(
        self, session_id: str, *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> bool:
        """Drops a session (history and KV cache; its saved files stay);
        whether it existed."""
        request = sessions_pb2.DeleteSessionRequest(runtime=self._rt(runtime), session_id=session_id)
        return bool(self._unary(self._sessions.DeleteSession, request, timeout).found)

    def fork_session(
        self,
        session_id: str,
        new_session_id: str,
        *,
        keep_tokens: int | None = None,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> sessions_pb2.SessionInfo:
        """A new session starting from another's history and KV cache, cut to
        its first `keep_tokens` tokens when given (rewind or branch)."""
        request = sessions_pb2.ForkSessionRequest(
            runtime=self._rt(runtime),
            session_id=session_id,
            new_session_id=new_session_id,
            keep_tokens=keep_tokens,
        )
        return self._unary(self._sessions.ForkSession, request, timeout)  # type: ignore[no-any-return]

    def save_session(
        self,
        session_id: str,
        path: str = "",
        *,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> sessions_pb2.SaveSessionResponse:
        """Writes a session to a file in the server's state directory
        (--state-dir; `path` relative to it, default "<session_id>.session");
        returns where (`.path`), its size (`.file_bytes`) and the session."""
        request = sessions_pb2.SaveSessionRequest(
            runtime=self._rt(runtime), session_id=session_id, path=path
        )
        return self._unary(self._sessions.SaveSession, request, timeout)  # type: ignore[no-any-return]

    def restore_session(
        self,
        path: str,
        *,
        session_id: str = "",
        replace: bool = False,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> sessions_pb2.SessionInfo:
        """Loads a file written by save_session as `session_id` (default: the
        id it was saved with); an existing session of that id is replaced
        only with replace=True (AlreadyExistsError otherwise)."""
        request = sessions_pb2.RestoreSessionRequest(
            runtime=self._rt(runtime), path=path, session_id=session_id, replace=replace
        )
        return self._unary(self._sessions.RestoreSession, request, timeout)  # type: ignore[no-any-return]

    # --- Diagnostics and health ---

    def status(
        self, *, runtime: str | None = None, fresh: bool = False, timeout: Timeout = DEFAULT
    ) -> diagnostics_pb2.RuntimeStatus:
        """The runtime's status (fresh=True asks the runtime itself, queued
        behind its work, instead of its last published snapshot)."""
        request = diagnostics_pb2.GetStatusRequest(runtime=self._rt(runtime), fresh=fresh)
        return self._unary(self._diagnostics.GetStatus, request, timeout)  # type: ignore[no-any-return]

    def health(self, service: str = INFERENCE_SERVICE, *, timeout: Timeout = DEFAULT) -> HealthStatus:
        """grpc.health.v1 Check: "ggufd.v1.Inference" is SERVING while the
        default runtime has a usable model, "" while the server is up."""
        request = health_pb2.HealthCheckRequest(service=service)
        return HealthStatus(self._unary(self._health.Check, request, timeout).status)
