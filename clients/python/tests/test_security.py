"""End-to-end tests of the security options (TLS, mTLS, bearer tokens) and
the security and limit errors, sync and asyncio, against real ggufd servers
of their own with certificates made by openssl at test time:

- tls_server: TLS only;
- mtls_server: TLS, client certificates required, an auth file that lists
  the "client" certificate as an inference caller and an admin token;
- auth_server: plaintext on 127.0.0.1 with the auth file (tokens over
  plaintext loopback work, so the token must not need a secure channel);
- limits_server: small message, new-token and runtime limits, /metrics to
  count how often the server saw a refused call (once: never retried).
"""

from __future__ import annotations

import asyncio
import hashlib
import pathlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from ggufd_server import GgufdServer, poll
from pki import Pki

import ggufd
from ggufd.errors import from_rpc_error
from ggufd.v1 import inference_pb2, inference_pb2_grpc, runtime_pb2, runtime_pb2_grpc

INFERENCE_TOKEN = "py-inference-token"
ADMIN_TOKEN = "py-admin-token"
CLIENT_IDENTITY = "spiffe://test/client-a"
PROMPT = "Once upon a time"
SHORT: ggufd.GenerateOptions = {"max_tokens": 4, "temperature": 0}
LONG: ggufd.GenerateOptions = {"max_tokens": 500, "ignore_eos": True, "token_ids": True}
# Requests over --max-receive-message-bytes 4096 (ggufd's own check), and
# over twice that (dropped by gRPC itself before ggufd sees them).
TOO_LARGE_PROMPT = "word " * 1200
FAR_TOO_LARGE_PROMPT = "word " * 3000


def auth_line(token: str, role: str, name: str) -> str:
    """What `ggufd hash-token` prints: the token's SHA-256, role, name."""
    return f"{hashlib.sha256(token.encode()).hexdigest()} {role} {name}\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    p = Pki(tmp_path_factory.mktemp("pki"), "ggufd-py")
    p.issue_server("server", "ggufd-py-server")
    p.issue_client("client", CLIENT_IDENTITY)
    p.issue_client("unlisted", "spiffe://test/unlisted")
    return p


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Another CA: its certificates are trusted by nobody here."""
    p = Pki(tmp_path_factory.mktemp("other-pki"), "other")
    p.issue_client("stranger", "spiffe://other/stranger")
    return p


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("auth") / "auth"
    path.write_text(
        f"cert:{CLIENT_IDENTITY} inference web\n"
        + auth_line(INFERENCE_TOKEN, "inference", "alice")
        + auth_line(ADMIN_TOKEN, "admin", "ops")
    )
    return path


def serving(*args: str, metrics: bool = False) -> Iterator[GgufdServer]:
    s = GgufdServer(*args, model=True, metrics=metrics)
    try:
        yield s
    finally:
        s.stop()


def tls_args(pki: Pki) -> list[str]:
    return ["--tls-cert", str(pki.cert("server")), "--tls-key", str(pki.key("server"))]


@pytest.fixture(scope="module")
def tls_server(pki: Pki) -> Iterator[GgufdServer]:
    yield from serving(*tls_args(pki))


@pytest.fixture(scope="module")
def mtls_server(pki: Pki, auth_file: pathlib.Path) -> Iterator[GgufdServer]:
    # --tls-client-auth defaults to required.
    yield from serving(
        *tls_args(pki), "--tls-client-ca", str(pki.ca), "--auth-file", str(auth_file)
    )


@pytest.fixture(scope="module")
def auth_server(auth_file: pathlib.Path) -> Iterator[GgufdServer]:
    yield from serving("--auth-file", str(auth_file))


@pytest.fixture(scope="module")
def limits_server() -> Iterator[GgufdServer]:
    yield from serving(
        "--max-receive-message-bytes", "4096",
        "--max-new-tokens", "8",
        "--max-runtimes", "1",
        metrics=True,
    )


def assert_unauthenticated(error: ggufd.GgufdError) -> None:
    assert isinstance(error, ggufd.UnauthenticatedError)
    assert error.grpc_code == grpc.StatusCode.UNAUTHENTICATED
    assert error.reason == "UNAUTHENTICATED"
    assert error.error_code == 21


def assert_access_denied(error: ggufd.GgufdError) -> None:
    assert isinstance(error, ggufd.AccessDeniedError)
    assert error.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert error.reason == "ACCESS_DENIED"
    assert error.error_code == 22


def refusals(server: GgufdServer, limit: str, method: str) -> tuple[float, float]:
    """How often the server refused with `limit`, and how many calls of
    `method` it finished with RESOURCE_EXHAUSTED: each retry attempt would
    count again in both."""
    return (
        server.metric("ggufd_limit_rejections_total", limit=limit),
        server.metric("ggufd_requests_total", method=method, code="RESOURCE_EXHAUSTED"),
    )


# --- Arguments ---


def test_contradicting_security_arguments_are_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="tls_cert and tls_key"):
        ggufd.Client(tls_ca=b"ca", tls_cert=b"cert")
    with pytest.raises(ValueError, match="credentials or the tls_"):
        ggufd.Client(credentials=grpc.ssl_channel_credentials(), tls=True)
    with pytest.raises(ValueError, match="tls_server_name needs TLS"):
        ggufd.Client(tls_server_name="localhost")
    with pytest.raises(ValueError, match="token or token_file"):
        ggufd.Client(token="a", token_file=tmp_path / "t")
    with pytest.raises(ValueError, match="one non-empty line"):
        ggufd.Client(token="two\nlines")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="no token"):
        ggufd.Client(token_file=tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        ggufd.Client(tls_ca=tmp_path / "missing.pem")


# --- TLS ---


def test_tls_generates_with_the_servers_ca(tls_server: GgufdServer, pki: Pki) -> None:
    with ggufd.Client(tls_server.address, tls_ca=pki.ca, timeout=60) as client:
        with client.generate(PROMPT, **SHORT) as generation:
            events = list(generation)
        assert isinstance(events[0], ggufd.Started) and isinstance(events[-1], ggufd.Finished)
        assert generation.finished is not None
        assert generation.finished.usage.completion_tokens == SHORT["max_tokens"]
        assert client.health() == ggufd.HealthStatus.SERVING
    # The CA as PEM bytes and as PEM text, and the certificate checked for
    # "localhost" while dialing 127.0.0.1.
    for ca in (pki.ca.read_bytes(), pki.ca.read_text()):
        with ggufd.Client(
            tls_server.address, tls_ca=ca, tls_server_name="localhost", timeout=60
        ) as client:
            assert client.complete(PROMPT, **SHORT)


def test_tls_refuses_an_untrusted_server_and_plaintext(
    tls_server: GgufdServer, pki: Pki, other_pki: Pki
) -> None:
    # retry=None: each attempt fails the same way, only slower.
    refused_ones: list[dict[str, Any]] = [
        {"tls_ca": other_pki.ca},  # trusts another CA
        {"tls_ca": pki.ca, "tls_server_name": "ggufd.invalid"},  # not the cert's name
        {},  # plaintext to a TLS port
    ]
    for kwargs in refused_ones:
        with ggufd.Client(tls_server.address, retry=None, timeout=10, **kwargs) as client:
            with pytest.raises(ggufd.UnavailableError) as refused:
                client.tokenize("Hello")
        assert refused.value.grpc_code == grpc.StatusCode.UNAVAILABLE, kwargs
        assert refused.value.reason == "", kwargs


# --- mTLS and certificate identities ---


def test_mtls_requires_a_client_certificate(
    mtls_server: GgufdServer, pki: Pki, other_pki: Pki
) -> None:
    refused_ones: list[dict[str, Any]] = [
        {},  # no client certificate
        {"tls_cert": other_pki.cert("stranger"), "tls_key": other_pki.key("stranger")},
    ]
    for kwargs in refused_ones:
        with ggufd.Client(
            mtls_server.address, tls_ca=pki.ca, retry=None, timeout=10, **kwargs
        ) as client:
            with pytest.raises(ggufd.UnavailableError):
                client.tokenize("Hello")

    # The listed certificate authenticates without a token, as its
    # `cert:` line's inference role: generating works, Diagnostics does not.
    with ggufd.Client(
        mtls_server.address,
        tls_ca=pki.ca,
        tls_cert=pki.cert("client"),
        tls_key=pki.key("client").read_bytes(),
        timeout=60,
    ) as client:
        assert client.complete(PROMPT, **SHORT)
        with pytest.raises(ggufd.AccessDeniedError) as denied:
            client.status()
        assert_access_denied(denied.value)


def test_mtls_unlisted_certificate_needs_a_token(mtls_server: GgufdServer, pki: Pki) -> None:
    cert: dict[str, Any] = {
        "tls_ca": pki.ca,
        "tls_cert": pki.cert("unlisted"),
        "tls_key": pki.key("unlisted"),
    }
    with ggufd.Client(mtls_server.address, timeout=30, **cert) as client:
        with pytest.raises(ggufd.UnauthenticatedError) as refused:
            client.tokenize("Hello")
        assert_unauthenticated(refused.value)
    # A token over TLS authenticates (and wins over the certificate).
    with ggufd.Client(mtls_server.address, token=ADMIN_TOKEN, timeout=30, **cert) as client:
        assert client.status().model_loaded


# --- Tokens ---


def test_missing_and_unknown_tokens_are_unauthenticated(auth_server: GgufdServer) -> None:
    for token in (None, "not-a-known-token"):
        with ggufd.Client(auth_server.address, token=token, timeout=30) as client:
            with pytest.raises(ggufd.UnauthenticatedError) as refused:
                client.complete(PROMPT, **SHORT)
            assert_unauthenticated(refused.value)
            with pytest.raises(ggufd.UnauthenticatedError) as refused:
                client.tokenize("Hello")
            assert_unauthenticated(refused.value)
            # Health needs no token.
            assert client.health() == ggufd.HealthStatus.SERVING


def test_inference_token_generates_but_may_not_administer(auth_server: GgufdServer) -> None:
    with ggufd.Client(auth_server.address, token=INFERENCE_TOKEN, timeout=60) as client:
        assert client.complete(PROMPT, **SHORT)
        assert client.tokenize("Hello")
        for admin_call in (
            client.status,
            client.list_runtimes,
            lambda: client.load_model("SmolLM2-135M-Instruct.Q4_1.gguf"),
        ):
            with pytest.raises(ggufd.AccessDeniedError) as denied:
                admin_call()
            assert_access_denied(denied.value)


def test_admin_token_administers(auth_server: GgufdServer) -> None:
    with ggufd.Client(auth_server.address, token=ADMIN_TOKEN, timeout=60) as client:
        assert client.status().model_loaded
        assert [r.name for r in client.list_runtimes()] == ["default"]
        assert client.complete(PROMPT, **SHORT)


def test_token_source_and_token_file(auth_server: GgufdServer, tmp_path: pathlib.Path) -> None:
    current = [INFERENCE_TOKEN]
    asked: list[str] = []

    def source() -> str:
        asked.append(current[0])
        return current[0]

    with ggufd.Client(auth_server.address, token=source, timeout=30) as client:
        with pytest.raises(ggufd.AccessDeniedError):
            client.status()
        current[0] = ADMIN_TOKEN  # rotated: the next call sends the new one
        assert client.status().model_loaded
    assert asked == [INFERENCE_TOKEN, ADMIN_TOKEN]

    token_file = tmp_path / "admin.token"
    token_file.write_text(ADMIN_TOKEN + "\r\n")
    with ggufd.Client(auth_server.address, token_file=token_file, timeout=30) as client:
        assert client.status().model_loaded


def test_stubs_on_the_channel_send_the_token(auth_server: GgufdServer) -> None:
    with ggufd.Client(auth_server.address, token=ADMIN_TOKEN, timeout=30) as client:
        runtime = runtime_pb2_grpc.RuntimeStub(client.channel)
        listed = runtime.ListRuntimes(runtime_pb2.ListRuntimesRequest(), timeout=30)
        assert [r.name for r in listed.runtimes] == ["default"]
        # A call's own authorization metadata wins over the client's token.
        inference = inference_pb2_grpc.InferenceStub(client.channel)
        with pytest.raises(grpc.RpcError) as refused:
            inference.Tokenize(
                inference_pb2.TokenizeRequest(text="Hello"),
                metadata=[("authorization", "Bearer not-a-known-token")],
                timeout=30,
            )
        assert_unauthenticated(from_rpc_error(refused.value))


def reflection_services(client: ggufd.Client) -> bytes:
    """One gRPC reflection list_services exchange (a bidi stream; refused
    by ggufd without ErrorInfo, as reflection is gRPC's own service)."""
    call = client.channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    list_services = b"\x3a\x00"  # ServerReflectionRequest{list_services: ""}
    try:
        return b"".join(call(iter([list_services]), timeout=30))
    except grpc.RpcError as e:
        raise from_rpc_error(e) from e


def test_refusals_without_error_info_map_by_status_code(auth_server: GgufdServer) -> None:
    with ggufd.Client(auth_server.address, timeout=30) as client:
        with pytest.raises(ggufd.UnauthenticatedError) as unauthenticated:
            reflection_services(client)
    assert unauthenticated.value.grpc_code == grpc.StatusCode.UNAUTHENTICATED
    assert unauthenticated.value.reason == "" and unauthenticated.value.error_code == 0

    with ggufd.Client(auth_server.address, token=INFERENCE_TOKEN, timeout=30) as client:
        with pytest.raises(ggufd.AccessDeniedError) as denied:
            reflection_services(client)
    assert denied.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert denied.value.reason == "" and denied.value.error_code == 0

    with ggufd.Client(auth_server.address, token=ADMIN_TOKEN, timeout=30) as client:
        assert b"ggufd.v1.Inference" in reflection_services(client)


def test_closing_a_stream_with_a_token_cancels_it(auth_server: GgufdServer) -> None:
    with ggufd.Client(auth_server.address, token=ADMIN_TOKEN, timeout=60) as admin, ggufd.Client(
        auth_server.address, token=INFERENCE_TOKEN, timeout=60
    ) as client:
        before = admin.status().counters
        generation = client.generate(PROMPT, **LONG)
        for event in generation:
            if isinstance(event, ggufd.Chunk):
                generation.close()
        assert generation.finished is None
        status = poll(
            "the cancelled generation to end",
            admin.status,
            lambda st: st.running_operation == ""
            and st.counters.generations_cancelled > before.generations_cancelled,
        )
        assert status.counters.generated_tokens - before.generated_tokens < LONG["max_tokens"]


# --- Limits ---


def test_message_too_large_is_typed_and_not_retried(limits_server: GgufdServer) -> None:
    before = refusals(limits_server, "message_bytes", "Inference/Generate")
    # The default retry policy retries RESOURCE_EXHAUSTED; the refusal's
    # pushback trailer must stop it.
    with ggufd.Client(limits_server.address, timeout=30) as client:
        with pytest.raises(ggufd.MessageTooLargeError) as refused:
            client.complete(TOO_LARGE_PROMPT, **SHORT)
    error = refused.value
    assert error.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == "MESSAGE_TOO_LARGE" and error.error_code == 23
    assert error.retry_delay is None
    after = refusals(limits_server, "message_bytes", "Inference/Generate")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_grpc_own_size_refusal_is_message_too_large(limits_server: GgufdServer) -> None:
    # gRPC drops it without ErrorInfo (and the retry policy would retry
    # that RESOURCE_EXHAUSTED: retry=None keeps the test fast).
    with ggufd.Client(limits_server.address, retry=None, timeout=30) as client:
        with pytest.raises(ggufd.MessageTooLargeError) as refused:
            client.complete(FAR_TOO_LARGE_PROMPT, **SHORT)
    assert refused.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.reason == ""


def test_new_token_limit_is_limit_exceeded(limits_server: GgufdServer) -> None:
    with ggufd.Client(limits_server.address, timeout=30) as client:
        with pytest.raises(ggufd.LimitExceededError) as refused:
            client.complete(PROMPT, max_tokens=9)
        error = refused.value
        assert error.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
        assert error.reason == "LIMIT_EXCEEDED" and error.error_code == 24
        assert [v.field for v in error.field_violations] == ["stopping.max_tokens"]
        with client.generate(PROMPT, max_tokens=8, ignore_eos=True) as generation:
            assert generation.text()
        assert generation.finished is not None
        assert generation.finished.usage.completion_tokens == 8


def test_runtime_limit_is_limit_exceeded_and_not_retried(limits_server: GgufdServer) -> None:
    before = refusals(limits_server, "runtimes", "Runtime/CreateRuntime")
    with ggufd.Client(limits_server.address, timeout=30) as client:
        with pytest.raises(ggufd.LimitExceededError) as refused:
            client.create_runtime("second")
    assert refused.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.error_code == 24
    after = refusals(limits_server, "runtimes", "Runtime/CreateRuntime")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


# --- asyncio ---


def test_async_tls_and_mtls(
    tls_server: GgufdServer, mtls_server: GgufdServer, pki: Pki, other_pki: Pki
) -> None:
    async def main() -> None:
        async with ggufd.AsyncClient(
            tls_server.address, tls_ca=pki.ca.read_bytes(), timeout=60
        ) as c:
            events = [event async for event in c.generate(PROMPT, **SHORT)]
            assert isinstance(events[0], ggufd.Started) and isinstance(events[-1], ggufd.Finished)
        async with ggufd.AsyncClient(
            tls_server.address, tls_ca=other_pki.ca, retry=None, timeout=10
        ) as c:
            with pytest.raises(ggufd.UnavailableError):
                await c.tokenize("Hello")

        async with ggufd.AsyncClient(
            mtls_server.address, tls_ca=pki.ca, retry=None, timeout=10
        ) as c:
            with pytest.raises(ggufd.UnavailableError):
                await c.tokenize("Hello")
        async with ggufd.AsyncClient(
            mtls_server.address,
            tls_ca=pki.ca,
            tls_cert=pki.cert("client"),
            tls_key=pki.key("client"),
            timeout=60,
        ) as c:
            assert await c.complete(PROMPT, **SHORT)
            with pytest.raises(ggufd.AccessDeniedError) as denied:
                await c.status()
            assert_access_denied(denied.value)

    asyncio.run(main())


def test_async_tokens(auth_server: GgufdServer) -> None:
    async def main() -> None:
        for token in (None, "not-a-known-token"):
            async with ggufd.AsyncClient(auth_server.address, token=token, timeout=30) as c:
                with pytest.raises(ggufd.UnauthenticatedError) as refused:
                    await c.complete(PROMPT, **SHORT)
                assert_unauthenticated(refused.value)
                with pytest.raises(ggufd.UnauthenticatedError):
                    await c.tokenize("Hello")
                assert await c.health() == ggufd.HealthStatus.SERVING

        async with ggufd.AsyncClient(
            auth_server.address, token=ADMIN_TOKEN, timeout=60
        ) as admin, ggufd.AsyncClient(
            auth_server.address, token=lambda: INFERENCE_TOKEN, timeout=60
        ) as client:
            assert await client.complete(PROMPT, **SHORT)
            with pytest.raises(ggufd.AccessDeniedError) as denied:
                await client.status()
            assert_access_denied(denied.value)

            # Cancelling an intercepted stream still cancels the call.
            before = (await admin.status()).counters
            generation = client.generate(PROMPT, **LONG)
            async for event in generation:
                if isinstance(event, ggufd.Chunk):
                    generation.cancel()
            assert generation.finished is None
            for _ in range(1500):
                status = await admin.status()
                if status.running_operation == "" and (
                    status.counters.generations_cancelled > before.generations_cancelled
                ):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the cancelled generation did not end")

    asyncio.run(main())


def test_async_limits_are_typed_and_not_retried(limits_server: GgufdServer) -> None:
    async def main() -> None:
        before = refusals(limits_server, "message_bytes", "Inference/Generate")
        async with ggufd.AsyncClient(limits_server.address, timeout=30) as c:
            with pytest.raises(ggufd.MessageTooLargeError) as too_large:
                await c.complete(TOO_LARGE_PROMPT, **SHORT)
            assert too_large.value.error_code == 23
            after = refusals(limits_server, "message_bytes", "Inference/Generate")
            assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
            with pytest.raises(ggufd.LimitExceededError) as limited:
                await c.complete(PROMPT, max_tokens=9)
            assert limited.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT

    asyncio.run(main())
