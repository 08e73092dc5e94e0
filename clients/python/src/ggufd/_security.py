"""TLS credentials and bearer tokens for Client and AsyncClient.

The token goes into every call's metadata (`authorization: Bearer <token>`)
through a client interceptor rather than gRPC call credentials: grpcio
refuses call credentials on insecure channels, and ggufd accepts a token over
plaintext on 127.0.0.1. An interceptor also covers stubs that callers build
on `client.channel` themselves.
"""

from __future__ import annotations

import collections
import os
import pathlib
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Union

import grpc
import grpc.aio

# A PEM file's path, or its contents (bytes, or a str starting with
# "-----BEGIN").
PemSource = Union[str, "os.PathLike[str]", bytes]
# A bearer token, or a function returning the token to send on each call
# (for tokens that rotate; "" sends none).
TokenSource = Union[str, Callable[[], str]]

_AUTHORIZATION = "authorization"


def _pem(source: PemSource) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode("ascii")
    return pathlib.Path(source).read_bytes()


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in a file: its first line, without the line ending (as
    ggufctl --token-file reads it)."""
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    token = lines[0].strip() if lines else ""
    if not token:
        raise ValueError(f"no token in {os.fspath(path)!r}")
    return token


@dataclass(frozen=True)
class Connection:
    """How a client reaches the server: channel credentials (None =
    plaintext), channel arguments, and the token source (None = no token)."""

    credentials: grpc.ChannelCredentials | None
    options: list[tuple[str, Any]]
    token: Callable[[], str] | None


def connection(
    *,
    credentials: grpc.ChannelCredentials | None,
    tls: bool,
    tls_ca: PemSource | None,
    tls_cert: PemSource | None,
    tls_key: PemSource | None,
    tls_server_name: str | None,
    token: TokenSource | None,
    token_file: str | os.PathLike[str] | None,
) -> Connection:
    """Checks the security arguments of Client/AsyncClient and turns them
    into a Connection; raises ValueError for contradicting ones and OSError
    for unreadable files."""
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("tls_cert and tls_key go together")
    wants_tls = tls or tls_ca is not None or tls_cert is not None
    if credentials is not None and wants_tls:
        raise ValueError("give either credentials or the tls_* arguments, not both")
    if wants_tls:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=None if tls_ca is None else _pem(tls_ca),
            private_key=None if tls_key is None else _pem(tls_key),
            certificate_chain=None if tls_cert is None else _pem(tls_cert),
        )
    options: list[tuple[str, Any]] = []
    if tls_server_name:
        if credentials is None:
            raise ValueError("tls_server_name needs TLS (tls=True, tls_ca or credentials)")
        # The name the server's certificate is checked against (and sent as
        # SNI) instead of the target's host.
        options.append(("grpc.ssl_target_name_override", tls_server_name))

    if token is not None and token_file is not None:
        raise ValueError("give either token or token_file, not both")
    source: Callable[[], str] | None = None
    if token_file is not None:
        fixed = read_token_file(token_file)
        source = lambda: fixed  # noqa: E731
    elif isinstance(token, str):
        # Surrounding whitespace (a line ending read with the token) is not
        # part of it.
        fixed = token.strip()
        if not fixed or "\n" in fixed or "\r" in fixed:
            raise ValueError("the token must be one non-empty line")
        source = lambda: fixed  # noqa: E731
    elif token is not None:
        source = token
    return Connection(credentials, options, source)


def _with_token(
    metadata: Sequence[tuple[str, Any]] | None, token: Callable[[], str]
) -> list[tuple[str, Any]]:
    """The call's metadata plus the bearer token, unless the call carries
    its own authorization already (an explicit per-call one wins)."""
    pairs = list(metadata or ())
    if any(key == _AUTHORIZATION for key, _ in pairs):
        return pairs
    value = token().strip()
    if value:
        pairs.append((_AUTHORIZATION, "Bearer " + value))
    return pairs


class _SyncCallDetails(
    collections.namedtuple(
        "_SyncCallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the bearer token to every call of a synchronous channel."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        d: Any = details
        return _SyncCallDetails(
            d.method,
            d.timeout,
            _with_token(d.metadata, self._token),
            d.credentials,
            d.wait_for_ready,
            getattr(d, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(
        self, continuation: Any, details: Any, request_iterator: Iterator[Any]
    ) -> Any:
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Iterator[Any]
    ) -> Any:
        return continuation(self._details(details), request_iterator)


def _aio_details(details: Any, token: Callable[[], str]) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(
        details.method,
        details.timeout,
        grpc.aio.Metadata(*_with_token(details.metadata, token)),
        details.credentials,
        details.wait_for_ready,
    )


# grpc.aio files an interceptor under the first call kind it implements
# only, so each kind needs a class of its own.
class _AioUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_aio_details(details, self._token), request)


class _AioUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_aio_details(details, self._token), request)


class _AioStreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    async def intercept_stream_unary(
        self, continuation: Any, details: Any, request_iterator: AsyncIterable[Any] | Iterable[Any]
    ) -> Any:
        return await continuation(_aio_details(details, self._token), request_iterator)


class _AioStreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    async def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: AsyncIterable[Any] | Iterable[Any]
    ) -> Any:
        return await continuation(_aio_details(details, self._token), request_iterator)


def aio_bearer_interceptors(token: Callable[[], str]) -> list[grpc.aio.ClientInterceptor]:
    """The interceptors that add the bearer token to every call of a
    grpc.aio channel."""
    return [
        _AioUnaryUnary(token),
        _AioUnaryStream(token),
        _AioStreamUnary(token),
        _AioStreamStream(token),
    ]
