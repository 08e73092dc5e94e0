"""End-to-end tests of ggufd.AsyncClient (grpc.aio) against the same real
ggufd; each test runs its own event loop with asyncio.run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import pytest
from conftest import SEEDED, SEEDED_PROMPT, Hooks
from ggufd_server import GgufdServer

import ggufd
from ggufd.v1 import diagnostics_pb2, testing_pb2

LONG: ggufd.GenerateOptions = {"max_tokens": 500, "ignore_eos": True, "token_ids": True}
T = TypeVar("T")


async def apoll(
    what: str, fn: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float = 30
) -> T:
    async def until() -> T:
        while True:
            value = await fn()
            if ok(value):
                return value
            await asyncio.sleep(0.02)

    try:
        return await asyncio.wait_for(until(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def cancelled_after(
    client: ggufd.AsyncClient, before: diagnostics_pb2.RuntimeCounters
) -> diagnostics_pb2.RuntimeStatus:
    status = await apoll(
        "the cancelled generation to end",
        client.status,
        lambda st: st.running_operation == ""
        and st.counters.generations_cancelled > before.generations_cancelled,
    )
    assert status.counters.generations_cancelled == before.generations_cancelled + 1
    return status


def run(server: GgufdServer, body: Callable[[ggufd.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with ggufd.AsyncClient(server.address, timeout=60) as client:
            await body(client)

    asyncio.run(main())


def test_async_stream_matches_ggufctl(
    loaded: ggufd.Client, server: GgufdServer, ggufctl_text: str
) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        assert await client.health() == ggufd.HealthStatus.SERVING
        generation = client.generate(SEEDED_PROMPT, **SEEDED)
        events = [event async for event in generation]
        assert isinstance(events[0], ggufd.Started)
        text = "".join(e.text for e in events if isinstance(e, ggufd.Chunk))
        assert text == ggufctl_text
        assert generation.finished is not None
        assert generation.finished.reason == ggufd.FinishReason.FINISH_REASON_MAX_TOKENS
        assert generation.finished.usage.completion_tokens == SEEDED["max_tokens"]
        pieces = [p async for p in client.generate_text(SEEDED_PROMPT, **SEEDED)]
        assert "".join(pieces) == ggufctl_text

    run(server, body)


def test_async_cancel_frees_the_server_within_one_token(
    loaded: ggufd.Client, server: GgufdServer
) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        before = (await client.status()).counters
        received = 0
        async with client.generate(SEEDED_PROMPT, **LONG) as generation:
            async for event in generation:
                if isinstance(event, ggufd.Chunk):
                    received += len(event.tokens)
                    if received:
                        generation.cancel()
        assert received >= 1 and generation.finished is None
        status = await cancelled_after(client, before)
        generated = status.counters.generated_tokens - before.generated_tokens
        assert generated <= received + 2, (generated, received)

    run(server, body)


def test_async_task_cancellation_cancels_the_call(
    loaded: ggufd.Client, server: GgufdServer
) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        before = (await client.status()).counters
        first_chunk = asyncio.Event()
        received = 0

        async def consume() -> None:
            nonlocal received
            async for event in client.generate(SEEDED_PROMPT, **LONG):
                if isinstance(event, ggufd.Chunk):
                    received += len(event.tokens)
                    first_chunk.set()

        task = asyncio.create_task(consume())
        await first_chunk.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        status = await cancelled_after(client, before)
        generated = status.counters.generated_tokens - before.generated_tokens
        assert generated <= received + 2, (generated, received)

    run(server, body)


def test_async_cancel_by_request_id(loaded: ggufd.Client, server: GgufdServer) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        generation = client.generate(SEEDED_PROMPT, **LONG)
        async for event in generation:
            if isinstance(event, ggufd.Chunk):
                assert await client.cancel(generation.request_id) is True
                break
        # Keep reading: the server ends the stream with Finished{CANCELLED}.
        async for _ in generation:
            pass
        assert generation.finished is not None
        assert generation.finished.reason == ggufd.FinishReason.FINISH_REASON_CANCELLED
        assert await client.cancel(generation.request_id) is False

    run(server, body)


def test_async_full_queue(loaded: ggufd.Client, server: GgufdServer, hooks: Hooks) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        hooks.inject(testing_pb2.FAULT_STALL_WORKER)
        try:
            await apoll("the stall", client.status, lambda st: st.running_operation == "stall")
            queued = asyncio.create_task(client.complete("The queue", max_tokens=4))
            await apoll("one queued request", client.status, lambda st: st.queue_depth == 1)
            with pytest.raises(ggufd.QueueFullError) as refused:
                await client.complete("The queue", max_tokens=4)
        finally:
            hooks.inject(testing_pb2.FAULT_RESUME_WORKER)
        assert refused.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.value.reason == "QUEUE_FULL"
        assert refused.value.error_code == 10
        assert await queued

    run(server, body)


def test_async_errors_and_deadline(
    loaded: ggufd.Client, server: GgufdServer, hooks: Hooks
) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        await client.create_runtime("empty-aio")
        with pytest.raises(ggufd.NoModelError) as no_model:
            await client.complete("Hello", runtime="empty-aio", max_tokens=4)
        assert no_model.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
        assert (no_model.value.reason, no_model.value.error_code) == ("NO_MODEL", 5)
        await client.delete_runtime("empty-aio")

        hooks.inject(testing_pb2.FAULT_POISON_NEXT_GENERATE)
        for _ in range(2):
            with pytest.raises(ggufd.GenerationFailedError) as failed:
                await client.complete("Hello", max_tokens=8)
            assert failed.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
            assert (failed.value.reason, failed.value.error_code) == ("GENERATION_FAILED", 13)
        await client.reset()
        assert await client.complete("Hello", max_tokens=4)

        with pytest.raises(ggufd.DeadlineExceededError) as expired:
            await client.complete(SEEDED_PROMPT, timeout=0.3, **LONG)
        assert expired.value.grpc_code == grpc.StatusCode.DEADLINE_EXCEEDED
        await apoll("idle", client.status, lambda st: st.running_operation == "")

    run(server, body)


def test_async_tokenize_and_chat(loaded: ggufd.Client, server: GgufdServer) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        ids = await client.tokenize("Hello, world!")
        assert await client.detokenize(ids) == "Hello, world!"
        answer = await client.chat(
            [ggufd.ChatMessage(role="user", content="Say hello.")], max_tokens=16, temperature=0
        )
        assert answer.strip()

    run(server, body)
