"""Pieces shared by Client and AsyncClient: the event type a generation
yields, the health status enum, and the per-call timeout convention."""

from __future__ import annotations

import enum
from typing import Union

from grpc_health.v1 import health_pb2

from ggufd.v1 import inference_pb2

Started = inference_pb2.Started
Progress = inference_pb2.Progress
Chunk = inference_pb2.Chunk
Finished = inference_pb2.Finished
# What iterating a generation yields: exactly one Started, Progress during a
# long prefill (when asked for), Chunks, and a final Finished. Match them
# with isinstance() or `match event: case Chunk(text=text): ...`.
Event = Union[Started, Progress, Chunk, Finished]

# The health service that is SERVING only while the default runtime has a
# usable model ("" is the whole server, SERVING unless it is draining).
INFERENCE_SERVICE = "ggufd.v1.Inference"


class HealthStatus(enum.Enum):
    """grpc.health.v1.HealthCheckResponse.ServingStatus."""

    UNKNOWN = health_pb2.HealthCheckResponse.UNKNOWN
    SERVING = health_pb2.HealthCheckResponse.SERVING
    NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
    SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class _Default(enum.Enum):
    DEFAULT = enum.auto()


# Per-call `timeout` (seconds): DEFAULT uses the client's default timeout,
# None means no deadline, a number is the deadline from now.
DEFAULT = _Default.DEFAULT
Timeout = Union[float, None, _Default]


def resolve_timeout(timeout: Timeout, client_default: float | None) -> float | None:
    return client_default if isinstance(timeout, _Default) else timeout


def event_payload(event: inference_pb2.GenerateEvent) -> Event | None:
    """The Started/Progress/Chunk/Finished inside a GenerateEvent (None for
    an event kind newer than this client)."""
    kind = event.WhichOneof("event")
    return getattr(event, kind) if kind else None
