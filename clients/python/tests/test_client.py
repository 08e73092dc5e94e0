"""End-to-end tests of ggufd.Client against a real ggufd on 127.0.0.1."""

from __future__ import annotations

import grpc
import pytest
from conftest import SEEDED, SEEDED_PROMPT, Hooks, wait_idle
from ggufd_server import MODEL, GgufdServer, poll, rpc_log_count

import ggufd
from ggufd.v1 import testing_pb2

LONG: ggufd.GenerateOptions = {"max_tokens": 500, "ignore_eos": True, "token_ids": True}


def test_health_follows_the_model_load(client: ggufd.Client) -> None:
    # Runs first in a fresh server; when another test loaded the model
    # already, Release brings back the no-model state.
    if client.status().model_loaded:
        client.release()
    poll("Inference health NOT_SERVING", client.health, lambda s: s == ggufd.HealthStatus.NOT_SERVING)
    assert client.health("") == ggufd.HealthStatus.SERVING

    progress: list[float] = []
    info = client.load_model(MODEL, on_progress=progress.append)
    assert progress, "LoadModel sent no progress before the model info"
    assert progress == sorted(progress) and 0.0 <= progress[-1] <= 1.0
    assert info.architecture == "llama"
    assert info.path == MODEL
    assert info.vocab_size > 0 and info.context_length > 0
    poll("Inference health SERVING", client.health, lambda s: s == ggufd.HealthStatus.SERVING)


def test_generate_streams_the_same_text_as_ggufctl(
    loaded: ggufd.Client, ggufctl_text: str
) -> None:
    with loaded.generate(SEEDED_PROMPT, **SEEDED) as generation:
        events = list(generation)
    assert isinstance(events[0], ggufd.Started) and isinstance(events[-1], ggufd.Finished)
    assert all(isinstance(e, ggufd.Chunk) for e in events[1:-1])
    text = "".join(e.text for e in events if isinstance(e, ggufd.Chunk))
    assert text == ggufctl_text
    assert text.strip()

    started, finished = generation.started, generation.finished
    assert started is not None and finished is not None
    assert started.request_id == generation.request_id
    assert started.seed == SEEDED["seed"]
    assert finished.reason == ggufd.FinishReason.FINISH_REASON_MAX_TOKENS
    assert finished.usage.completion_tokens == SEEDED["max_tokens"]
    assert finished.usage.prompt_tokens == started.prompt_tokens > 0

    # The text-only helpers give the same text for the same seeded request.
    assert "".join(loaded.generate_text(SEEDED_PROMPT, **SEEDED)) == ggufctl_text
    assert loaded.complete(SEEDED_PROMPT, **SEEDED) == ggufctl_text


def test_closing_the_stream_frees_the_server_within_one_token(loaded: ggufd.Client) -> None:
    before = loaded.status().counters
    received = 0
    generation = loaded.generate(SEEDED_PROMPT, **LONG)
    for event in generation:
        if isinstance(event, ggufd.Chunk):
            received += len(event.tokens)
            if received:
                generation.close()
    assert received >= 1
    assert generation.finished is None  # it ended by our cancel, not by the server

    status = poll(
        "the cancelled generation to end",
        loaded.status,
        lambda st: st.running_operation == ""
        and st.counters.generations_cancelled > before.generations_cancelled,
    )
    assert status.counters.generations_cancelled == before.generations_cancelled + 1
    generated = status.counters.generated_tokens - before.generated_tokens
    assert generated <= received + 2, (generated, received)


def test_breaking_out_of_generate_text_cancels(loaded: ggufd.Client) -> None:
    before = loaded.status().counters
    pieces = loaded.generate_text(SEEDED_PROMPT, **LONG)
    assert next(pieces)
    pieces.close()  # what a `for` loop's break + garbage collection does
    status = poll(
        "the cancelled generation to end",
        loaded.status,
        lambda st: st.running_operation == ""
        and st.counters.generations_cancelled > before.generations_cancelled,
    )
    assert status.counters.generations_cancelled == before.generations_cancelled + 1
    assert status.counters.generated_tokens - before.generated_tokens < LONG["max_tokens"]


def test_cancel_by_request_id(loaded: ggufd.Client) -> None:
    before = loaded.status().counters
    options: ggufd.GenerateOptions = {**LONG, "request_id": "py-cancel-by-id"}
    generation = loaded.generate(SEEDED_PROMPT, **options)
    received = 0
    for event in generation:
        if isinstance(event, ggufd.Chunk) and received == 0:
            received = len(event.tokens)
            assert loaded.cancel("py-cancel-by-id") is True
    # The server ends a cancelled generation with Finished{CANCELLED}.
    assert generation.finished is not None
    assert generation.finished.reason == ggufd.FinishReason.FINISH_REASON_CANCELLED
    assert generation.finished.usage.completion_tokens < LONG["max_tokens"]
    assert loaded.cancel("py-cancel-by-id") is False
    status = wait_idle(loaded)
    assert status.counters.generations_cancelled == before.generations_cancelled + 1


def test_full_queue_is_resource_exhausted_after_retries(
    loaded: ggufd.Client, hooks: Hooks, server: GgufdServer
) -> None:
    # The client keeps its retry policy on: gRPC retries RESOURCE_EXHAUSTED
    # (4 attempts in all), and the queue is still full every time.
    refused_before = rpc_log_count(server, "Inference/Generate", "RESOURCE_EXHAUSTED")
    hooks.inject(testing_pb2.FAULT_STALL_WORKER)
    try:
        poll("the stall", loaded.status, lambda st: st.running_operation == "stall")
        queued = loaded.generate("The queue", max_tokens=4)
        poll("one queued request", loaded.status, lambda st: st.queue_depth == 1)
        with pytest.raises(ggufd.QueueFullError) as refused:
            next(loaded.generate("The queue", max_tokens=4))
    finally:
        hooks.inject(testing_pb2.FAULT_RESUME_WORKER)
    error = refused.value
    assert error.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == "QUEUE_FULL"
    assert error.error_code == 10
    assert error.retry_delay is not None and error.retry_delay > 0
    assert isinstance(error, ggufd.GgufdError)

    attempts = ggufd.RetryPolicy().max_attempts
    poll(
        "the server to log every attempt",
        lambda: rpc_log_count(server, "Inference/Generate", "RESOURCE_EXHAUSTED") - refused_before,
        lambda n: n >= attempts,
    )

    assert queued.text()
    assert queued.finished is not None
    assert queued.finished.reason == ggufd.FinishReason.FINISH_REASON_MAX_TOKENS
    assert rpc_log_count(server, "Inference/Generate", "RESOURCE_EXHAUSTED") - refused_before == attempts


def test_no_model_error_carries_reason_and_code(loaded: ggufd.Client) -> None:
    info = loaded.create_runtime("empty")
    assert info.name == "empty"
    with pytest.raises(ggufd.NoModelError) as refused:
        loaded.complete("Hello", runtime="empty", max_tokens=4)
    assert refused.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.reason == "NO_MODEL"
    assert refused.value.error_code == 5
    loaded.delete_runtime("empty")


def test_generation_failed_until_reset(loaded: ggufd.Client, hooks: Hooks) -> None:
    hooks.inject(testing_pb2.FAULT_POISON_NEXT_GENERATE)
    for _ in range(2):  # the poisoned runtime refuses until Reset
        with pytest.raises(ggufd.GenerationFailedError) as failed:
            loaded.complete("Hello", max_tokens=8)
        assert failed.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
        assert failed.value.reason == "GENERATION_FAILED"
        assert failed.value.error_code == 13
    assert loaded.status().poisoned
    loaded.reset()
    assert loaded.complete("Hello", max_tokens=4, temperature=0)


def test_deadline_per_call_and_client_default(loaded: ggufd.Client, server: GgufdServer) -> None:
    with pytest.raises(ggufd.DeadlineExceededError) as expired:
        loaded.complete(SEEDED_PROMPT, timeout=0.3, **LONG)
    assert expired.value.grpc_code == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_idle(loaded)

    with ggufd.Client(server.address, timeout=0.3) as hurried:
        with pytest.raises(ggufd.DeadlineExceededError):
            hurried.complete(SEEDED_PROMPT, **LONG)
        wait_idle(loaded)
        # An explicit per-call timeout wins over the client's default.
        assert hurried.tokenize("Hello", timeout=30)


def test_tokenize_round_trip_and_chat(loaded: ggufd.Client) -> None:
    ids = loaded.tokenize("Hello, world!")
    assert ids and all(isinstance(i, int) for i in ids)
    assert loaded.detokenize(ids) == "Hello, world!"

    answer = loaded.chat(
        [{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=16,
        temperature=0,
    )
    assert answer.strip()


def test_bad_requests_are_typed(loaded: ggufd.Client) -> None:
    with pytest.raises(ggufd.InvalidArgumentError) as bad:
        loaded.complete("Hello", request_id="spaces are not allowed", max_tokens=2)
    assert bad.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert bad.value.error_code == 1
    assert any(v.field == "request_id" for v in bad.value.field_violations)

    with pytest.raises(ggufd.PermissionDeniedError) as denied:
        loaded.load_model("../outside.gguf")
    assert denied.value.error_code == 11
    assert loaded.status().model_loaded  # a failed load keeps the model
