"""Fixtures: one real ggufd per test session, a sync client on it, its test
hooks, and the C++ client's text for the seeded request both clients run."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from ggufd_server import GGUFCTL_BIN, MODEL, GgufdServer, poll

import ggufd
from ggufd.v1 import testing_pb2, testing_pb2_grpc

# The seeded request of the "same text as the C++ client" check.
SEEDED_PROMPT = "Once upon a time"
SEEDED: ggufd.GenerateOptions = {"max_tokens": 24, "temperature": 0.8, "seed": 42}


@pytest.fixture(scope="session")
def server() -> Iterator[GgufdServer]:
    s = GgufdServer()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def client(server: GgufdServer) -> Iterator[ggufd.Client]:
    with ggufd.Client(server.address, timeout=60) as c:
        yield c


class Hooks:
    """TestHooks.InjectFault on the default runtime."""

    def __init__(self, client: ggufd.Client) -> None:
        self._stub = testing_pb2_grpc.TestHooksStub(client.channel)

    def inject(self, fault: testing_pb2.Fault, runtime: str = "default") -> None:
        self._stub.InjectFault(
            testing_pb2.InjectFaultRequest(runtime=runtime, fault=fault), timeout=30
        )


@pytest.fixture(scope="session")
def hooks(client: ggufd.Client) -> Hooks:
    return Hooks(client)


def wait_idle(client: ggufd.Client) -> ggufd.v1.diagnostics_pb2.RuntimeStatus:
    return poll(
        "the default runtime to be idle",
        client.status,
        lambda st: st.running_operation == "" and st.queue_depth == 0,
    )


@pytest.fixture
def loaded(client: ggufd.Client) -> ggufd.Client:
    """The session client, with the model loaded and the runtime idle."""
    if not client.status().model_loaded:
        client.load_model(MODEL)
    wait_idle(client)
    return client


@pytest.fixture(scope="session")
def ggufctl_text(server: GgufdServer, client: ggufd.Client) -> str:
    """What `ggufctl generate` prints for the seeded request, without the
    newline it adds after the text."""
    if not client.status().model_loaded:
        client.load_model(MODEL)
    out = subprocess.run(
        [
            str(GGUFCTL_BIN), "-s", server.address, "generate",
            "-n", str(SEEDED["max_tokens"]),
            "-t", str(SEEDED["temperature"]),
            "--seed", str(SEEDED["seed"]),
            SEEDED_PROMPT,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.endswith("\n"), repr(out.stdout)
    return out.stdout[:-1]
