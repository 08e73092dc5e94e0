"""The asyncio ggufd client (grpc.aio): the same surface as ggufd.Client,
with coroutines and async iterators."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import grpc
import grpc.aio
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
from ggufd._security import PemSource, TokenSource, aio_bearer_interceptors, connection
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


class AsyncGeneration(AsyncIterator[Event]):
    """A running Generate call: `async for` it for its events.

    cancel(), aclose(), leaving an `async with` block, or cancelling the task
    that reads it cancels the call; the server stops within one token.
    """

    def __init__(self, call: Any, request_id: str) -> None:
        self._call = call
        self.request_id = request_id
        self.started: Started | None = None
        self.finished: Finished | None = None
        self._cancelled = False
        self._done = False

    def __aiter__(self) -> AsyncGeneration:
        return self

    async def __anext__(self) -> Event:
        while not self._done:
            try:
                event = await self._call.read()
            except asyncio.CancelledError:
                # Our own cancel() ends the iteration; a cancelled task
                # (which grpc.aio turns into a cancelled call) propagates.
                if not self._cancelled:
                    raise
                self._done = True
                break
            except grpc.aio.AioRpcError as e:
                self._done = True
                if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                    break
                raise from_rpc_error(e) from e
            if event is grpc.aio.EOF:
                self._done = True
                break
            payload = event_payload(event)
            if isinstance(payload, Started):
                self.started = payload
            elif isinstance(payload, Finished):
                self.finished = payload
            if payload is not None:
                return payload
        raise StopAsyncIteration

    async def texts(self) -> AsyncGenerator[str, None]:
        """The text of each chunk as it arrives; closing this iterator early
        cancels the call."""
        try:
            async for event in self:
                if isinstance(event, Chunk) and event.text:
                    yield event.text
        finally:
            self.cancel()

    async def text(self) -> str:
        """Reads the rest of the stream and returns its text."""
        return "".join([piece async for piece in self.texts()])

    def cancel(self) -> None:
        """Cancels the call; the iteration then ends without an error."""
        if not self._done:
            self._cancelled = True
            self._call.cancel()

    async def aclose(self) -> None:
        self.cancel()
        self._done = True

    async def __aenter__(self) -> AsyncGeneration:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncClient:
    """The asyncio variant of ggufd.Client (same arguments, TLS and token
    ones included); create it inside a running event loop and close it with
    `await client.close()` or `async with`. A `token` function is called in
    the event loop for each call, so it must not block."""

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
        interceptors = None if conn.token is None else aio_bearer_interceptors(conn.token)
        if conn.credentials is None:
            self.channel = grpc.aio.insecure_channel(
                target, options=opts, interceptors=interceptors
            )
        else:
            self.channel = grpc.aio.secure_channel(
                target, conn.credentials, options=opts, interceptors=interceptors
            )
        self.runtime = runtime
        self.timeout = timeout
        self._inference = inference_pb2_grpc.InferenceStub(self.channel)
        self._runtimes = runtime_pb2_grpc.RuntimeStub(self.channel)
        self._diagnostics = diagnostics_pb2_grpc.DiagnosticsStub(self.channel)
        self._sessions = sessions_pb2_grpc.SessionsStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _rt(self, runtime: str | None) -> str:
        return self.runtime if runtime is None else runtime

    async def _unary(self, method: Callable[..., Any], request: Any, timeout: Timeout) -> Any:
        try:
            return await method(request, timeout=resolve_timeout(timeout, self.timeout))
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e) from e

    # --- Inference ---

    def generate(
        self,
        prompt: Prompt | None = None,
        *,
        messages: Iterable[Message] | None = None,
        timeout: Timeout = DEFAULT,
        **options: Unpack[GenerateOptions],
    ) -> AsyncGeneration:
        """Starts a generation (see Client.generate); `async for` the result."""
        request = generate_request(prompt, messages, self.runtime, options)
        call = self._inference.Generate(
            request, timeout=resolve_timeout(timeout, self.timeout)
        )
        return AsyncGeneration(call, request.request_id)

    def generate_text(
        self,
        prompt: Prompt | None = None,
        *,
        messages: Iterable[Message] | None = None,
        timeout: Timeout = DEFAULT,
        **options: Unpack[GenerateOptions],
    ) -> AsyncGenerator[str, None]:
        """Like generate(), yielding only the text pieces."""
        return self.generate(prompt, messages=messages, timeout=timeout, **options).texts()

    async def complete(
        self, prompt: Prompt, *, timeout: Timeout = DEFAULT, **options: Unpack[GenerateOptions]
    ) -> str:
        return await self.generate(prompt, timeout=timeout, **options).text()

    async def chat(
        self,
        messages: Iterable[Message],
        *,
        timeout: Timeout = DEFAULT,
        **options: Unpack[GenerateOptions],
    ) -> str:
        return await self.generate(messages=messages, timeout=timeout, **options).text()

    async def tokenize(
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
        return list((await self._unary(self._inference.Tokenize, request, timeout)).ids)

    async def detokenize(
        self, ids: Iterable[int], *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> str:
        request = inference_pb2.DetokenizeRequest(runtime=self._rt(runtime), ids=list(ids))
        return str((await self._unary(self._inference.Detokenize, request, timeout)).text)

    async def embed(
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
        """One embedding vector per text (see Client.embed)."""
        request = embed_request(
            texts,
            self._rt(runtime),
            pooling=pooling,
            normalize=normalize,
            truncate=truncate,
            add_special=add_special,
            request_id=request_id,
        )
        return embeddings_from(await self._unary(self._inference.Embed, request, timeout))

    async def cancel(self, request_id: str, *, timeout: Timeout = DEFAULT) -> bool:
        request = inference_pb2.CancelRequest(request_id=request_id)
        return bool((await self._unary(self._inference.Cancel, request, timeout)).found)

    # --- Runtime ---

    async def load_model(
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
            async for event in self._runtimes.LoadModel(
                request, timeout=resolve_timeout(timeout, self.timeout)
            ):
                if event.HasField("progress") and on_progress is not None:
                    on_progress(event.progress.fraction)
                elif event.HasField("model"):
                    info = event.model
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e) from e
        if info is None:
            raise RuntimeError("LoadModel ended without the model's info")
        return info

    async def model_info(
        self, *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> runtime_pb2.ModelInfo:
        request = runtime_pb2.GetModelInfoRequest(runtime=self._rt(runtime))
        return await self._unary(self._runtimes.GetModelInfo, request, timeout)  # type: ignore[no-any-return]

    async def reset(self, *, runtime: str | None = None, timeout: Timeout = DEFAULT) -> None:
        await self._unary(
            self._runtimes.Reset, runtime_pb2.ResetRequest(runtime=self._rt(runtime)), timeout
        )

    async def release(self, *, runtime: str | None = None, timeout: Timeout = DEFAULT) -> None:
        await self._unary(
            self._runtimes.Release, runtime_pb2.ReleaseRequest(runtime=self._rt(runtime)), timeout
        )

    async def create_runtime(
        self, name: str, *, queue_capacity: int = 0, timeout: Timeout = DEFAULT
    ) -> runtime_pb2.RuntimeInfo:
        request = runtime_pb2.CreateRuntimeRequest(name=name, queue_capacity=queue_capacity)
        return await self._unary(self._runtimes.CreateRuntime, request, timeout)  # type: ignore[no-any-return]

    async def delete_runtime(self, name: str, *, timeout: Timeout = DEFAULT) -> None:
        await self._unary(
            self._runtimes.DeleteRuntime, runtime_pb2.DeleteRuntimeRequest(name=name), timeout
        )

    async def list_runtimes(self, *, timeout: Timeout = DEFAULT) -> list[runtime_pb2.RuntimeInfo]:
        response = await self._unary(
            self._runtimes.ListRuntimes, runtime_pb2.ListRuntimesRequest(), timeout
        )
        return list(response.runtimes)

    # --- Sessions ---

    async def list_sessions(
        self, *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> sessions_pb2.ListSessionsResponse:
        request = sessions_pb2.ListSessionsRequest(runtime=self._rt(runtime))
        return await self._unary(self._sessions.ListSessions, request, timeout)  # type: ignore[no-any-return]

    async def delete_session(
        self, session_id: str, *, runtime: str | None = None, timeout: Timeout = DEFAULT
    ) -> bool:
        request = sessions_pb2.DeleteSessionRequest(runtime=self._rt(runtime), session_id=session_id)
        return bool((await self._unary(self._sessions.DeleteSession, request, timeout)).found)

    async def fork_session(
        self,
        session_id: str,
        new_session_id: str,
        *,
        keep_tokens: int | None = None,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> sessions_pb2.SessionInfo:
        request = sessions_pb2.ForkSessionRequest(
            runtime=self._rt(runtime),
            session_id=session_id,
            new_session_id=new_session_id,
            keep_tokens=keep_tokens,
        )
        return await self._unary(self._sessions.ForkSession, request, timeout)  # type: ignore[no-any-return]

    async def save_session(
        self,
        session_id: str,
        path: str = "",
        *,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> sessions_pb2.SaveSessionResponse:
        request = sessions_pb2.SaveSessionRequest(
            runtime=self._rt(runtime), session_id=session_id, path=path
        )
        return await self._unary(self._sessions.SaveSession, request, timeout)  # type: ignore[no-any-return]

    async def restore_session(
        self,
        path: str,
        *,
        session_id: str = "",
        replace: bool = False,
        runtime: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> sessions_pb2.SessionInfo:
        request = sessions_pb2.RestoreSessionRequest(
            runtime=self._rt(runtime), path=path, session_id=session_id, replace=replace
        )
        return await self._unary(self._sessions.RestoreSession, request, timeout)  # type: ignore[no-any-return]

    # --- Diagnostics and health ---

    async def status(
        self, *, runtime: str | None = None, fresh: bool = False, timeout: Timeout = DEFAULT
    ) -> diagnostics_pb2.RuntimeStatus:
        request = diagnostics_pb2.GetStatusRequest(runtime=self._rt(runtime), fresh=fresh)
        return await self._unary(self._diagnostics.GetStatus, request, timeout)  # type: ignore[no-any-return]

    async def health(
        self, service: str = INFERENCE_SERVICE, *, timeout: Timeout = DEFAULT
    ) -> HealthStatus:
        request = health_pb2.HealthCheckRequest(service=service)
        return HealthStatus((await self._unary(self._health.Check, request, timeout)).status)
