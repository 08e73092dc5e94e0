"""Python client for ggufd, a gRPC service that serves GGUF language models.

    import ggufd

    with ggufd.Client("127.0.0.1:50051", timeout=60) as client:
        client.load_model("SmolLM2-135M-Instruct.Q4_1.gguf")
        for piece in client.generate_text("Once upon a time", max_tokens=32):
            print(piece, end="", flush=True)
        # A conversation the server keeps: each turn sends only what is new.
        chat = [{"role": "user", "content": "Hi!"}]
        print(client.chat(chat, session_id="conv-1", max_tokens=32))
        # Output constrained to a regex, a JSON Schema or a GBNF grammar.
        print(client.complete("Call me at ", regex="[0-9]{3}-[0-9]{4}"))
        vectors = client.embed(["a text", "another"]).vectors

Over TLS with a token: ggufd.Client("ggufd.example:443", tls_ca="ca.pem",
token=TOKEN) (tls_cert/tls_key add a client certificate). The asyncio
variant is ggufd.AsyncClient; errors are ggufd.GgufdError subclasses. The generated API modules are ggufd.v1.*_pb2 / *_pb2_grpc.
"""

from ggufd._channel import RetryPolicy
from ggufd._common import (
    DEFAULT,
    INFERENCE_SERVICE,
    Chunk,
    Event,
    Finished,
    HealthStatus,
    Progress,
    Started,
)
from ggufd._embeddings import Embeddings
from ggufd._requests import GenerateOptions, JsonSchema, Message, PoolingChoice, Prompt
from ggufd._security import PemSource, TokenSource
from ggufd.aio import AsyncClient, AsyncGeneration
from ggufd.client import Client, Generation
from ggufd.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    ContextOverflowError,
    DeadlineExceededError,
    ErrorCode,
    FieldViolation,
    GenerationFailedError,
    GgufdError,
    InternalError,
    InvalidArgumentError,
    InvalidModelError,
    LimitExceededError,
    MessageTooLargeError,
    ModelNotFoundError,
    NoModelError,
    NotConfiguredError,
    OutOfMemoryError,
    PermissionDeniedError,
    QueueFullError,
    RequestCancelledError,
    RuntimeNotFoundError,
    SessionMismatchError,
    SessionNotFoundError,
    ShuttingDownError,
    UnauthenticatedError,
    UnavailableError,
    UnsupportedModelError,
)
from ggufd.v1.inference_pb2 import ChatMessage, FinishReason, Pooling, SessionCache, Usage
from ggufd.v1.runtime_pb2 import ModelInfo
from ggufd.v1.sessions_pb2 import ListSessionsResponse, SaveSessionResponse, SessionInfo

__all__ = [
    "ErrorCode",
    "AccessDeniedError",
    "AlreadyExistsError",
    "AsyncClient",
    "AsyncGeneration",
    "ChatMessage",
    "Chunk",
    "Client",
    "ContextOverflowError",
    "DEFAULT",
    "DeadlineExceededError",
    "Embeddings",
    "Event",
    "FieldViolation",
    "FinishReason",
    "Finished",
    "GenerationFailedError",
    "GenerateOptions",
    "Generation",
    "GgufdError",
    "HealthStatus",
    "INFERENCE_SERVICE",
    "InternalError",
    "InvalidArgumentError",
    "InvalidModelError",
    "JsonSchema",
    "LimitExceededError",
    "ListSessionsResponse",
    "Message",
    "MessageTooLargeError",
    "ModelInfo",
    "ModelNotFoundError",
    "NoModelError",
    "NotConfiguredError",
    "OutOfMemoryError",
    "PemSource",
    "PermissionDeniedError",
    "Pooling",
    "PoolingChoice",
    "Progress",
    "Prompt",
    "QueueFullError",
    "RequestCancelledError",
    "RetryPolicy",
    "RuntimeNotFoundError",
    "SaveSessionResponse",
    "SessionCache",
    "SessionInfo",
    "SessionMismatchError",
    "SessionNotFoundError",
    "ShuttingDownError",
    "Started",
    "TokenSource",
    "UnauthenticatedError",
    "UnavailableError",
    "UnsupportedModelError",
    "Usage",
]
