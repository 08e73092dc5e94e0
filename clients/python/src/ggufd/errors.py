"""Typed exceptions built from the google.rpc.Status that ggufd sends.

The server ends a failed call with a real gRPC code plus a
`grpc-status-details-bin` trailer holding a google.rpc.Status whose details
carry an ErrorInfo (domain "ggufd", reason = the runtime's error-code name,
metadata["error_code"] = its number), a RetryInfo where retrying helps, and
a BadRequest for invalid fields. `from_rpc_error` turns that into one of the
classes below, chosen by the ErrorInfo reason (or, for errors that never
reached the server, such as a client-side deadline, by the gRPC code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ggufd.v1.error_code_pb2 import ErrorCode

ERROR_DOMAIN = "ggufd"
_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One entry of a google.rpc.BadRequest: which request field was bad."""

    field: str
    description: str


class GgufdError(Exception):
    """A failed ggufd call.

    Attributes:
        reason: ErrorInfo.reason, e.g. "QUEUE_FULL"; "" when the server sent
            no ErrorInfo (the call failed before reaching ggufd).
        error_code: the runtime's numeric error code (ErrorInfo
            metadata["error_code"]), 0 when absent.
        grpc_code: the call's grpc.StatusCode.
        message: the status message.
        retry_delay: seconds to wait before retrying (RetryInfo), or None
            when the server does not suggest retrying.
        metadata: the whole ErrorInfo metadata map.
        field_violations: BadRequest entries naming the bad fields.
    """

    def __init__(
        self,
        message: str,
        *,
        grpc_code: grpc.StatusCode,
        reason: str = "",
        error_code: int = 0,
        retry_delay: float | None = None,
        metadata: dict[str, str] | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.grpc_code = grpc_code
        self.reason = reason
        self.error_code = error_code
        self.retry_delay = retry_delay
        self.metadata = dict(metadata or {})
        self.field_violations = field_violations

    def __str__(self) -> str:
        label = self.reason or self.grpc_code.name
        code = f" ({self.error_code})" if self.error_code else ""
        return f"{label}{code}: {self.message}"


# One subclass per runtime error code (runtime/error_code.h).
class InvalidArgumentError(GgufdError):
    """1: a bad request field (see field_violations) or unknown runtime."""


class ModelNotFoundError(GgufdError):
    """2: the model file does not exist in the server's model directory."""


class InvalidModelError(GgufdError):
    """3: the file is not a valid GGUF model."""


class UnsupportedModelError(GgufdError):
    """4: a valid GGUF file whose architecture or types ggufd cannot run."""


class NoModelError(GgufdError):
    """5: the runtime has no model loaded."""


class ContextOverflowError(GgufdError):
    """6: the prompt does not fit in the context window."""


class OutOfMemoryError(GgufdError):
    """7: the load would exceed the memory limit."""


class RequestCancelledError(GgufdError):
    """8: the request was cancelled before it ran."""


class DeadlineExceededError(GgufdError):
    """9: the deadline passed (on the server or on the client)."""


class QueueFullError(GgufdError):
    """10: the runtime's queue is full (RESOURCE_EXHAUSTED; retry later)."""


class PermissionDeniedError(GgufdError):
    """11: a model path outside the server's model directory."""


class InternalError(GgufdError):
    """12: a bug or unexpected failure inside the server."""


class GenerationFailedError(GgufdError):
    """13: a generation failed and poisoned the runtime until Reset/Release
    (a session turn's failure only drops that session's KV cache)."""


class UnavailableError(GgufdError):
    """14: the runtime's worker is gone, or the server cannot be reached."""


class ShuttingDownError(GgufdError):
    """15: the server is draining."""


class RuntimeNotFoundError(GgufdError):
    """16: no runtime instance has that name."""


class SessionNotFoundError(GgufdError):
    """17: no session has that id on the runtime, or no saved file that path."""


class AlreadyExistsError(GgufdError):
    """18: a session with that id exists already (fork, or restore without
    replace)."""


class SessionMismatchError(GgufdError):
    """19: a saved session does not fit this runtime (saved with another
    model)."""


class NotConfiguredError(GgufdError):
    """20: the server was started without what the call needs (e.g. saving
    a session without --state-dir)."""


class UnauthenticatedError(GgufdError):
    """21: no credentials the server accepts (UNAUTHENTICATED): no token, an
    unknown token, or a client certificate the auth file does not list."""


class AccessDeniedError(GgufdError):
    """22: the caller's role or ownership forbids the call (PERMISSION_DENIED):
    an inference token calling Runtime/Diagnostics, or another caller's
    session or request."""


class MessageTooLargeError(GgufdError):
    """23: the request message is larger than the server accepts
    (RESOURCE_EXHAUSTED, never retried)."""


class LimitExceededError(GgufdError):
    """24: the request exceeds a server limit: prompt or new tokens
    (INVALID_ARGUMENT; field_violations name the field) or the number of
    runtimes (RESOURCE_EXHAUSTED, never retried)."""


# Each error code of proto/ggufd/v1/error_code.proto (the server's list) to
# its class; keyed by the generated enum so a code the proto lacks fails at
# import, and tests/test_error_codes.py fails on a code missing here.
_BY_CODE: dict[int, type[GgufdError]] = {
    ErrorCode.ERROR_CODE_INVALID_ARGUMENT: InvalidArgumentError,
    ErrorCode.ERROR_CODE_MODEL_NOT_FOUND: ModelNotFoundError,
    ErrorCode.ERROR_CODE_INVALID_MODEL: InvalidModelError,
    ErrorCode.ERROR_CODE_UNSUPPORTED_MODEL: UnsupportedModelError,
    ErrorCode.ERROR_CODE_NO_MODEL: NoModelError,
    ErrorCode.ERROR_CODE_CONTEXT_OVERFLOW: ContextOverflowError,
    ErrorCode.ERROR_CODE_OUT_OF_MEMORY: OutOfMemoryError,
    ErrorCode.ERROR_CODE_CANCELLED: RequestCancelledError,
    ErrorCode.ERROR_CODE_DEADLINE_EXCEEDED: DeadlineExceededError,
    ErrorCode.ERROR_CODE_QUEUE_FULL: QueueFullError,
    ErrorCode.ERROR_CODE_PERMISSION_DENIED: PermissionDeniedError,
    ErrorCode.ERROR_CODE_INTERNAL: InternalError,
    ErrorCode.ERROR_CODE_GENERATION_FAILED: GenerationFailedError,
    ErrorCode.ERROR_CODE_UNAVAILABLE: UnavailableError,
    ErrorCode.ERROR_CODE_SHUTTING_DOWN: ShuttingDownError,
    ErrorCode.ERROR_CODE_RUNTIME_NOT_FOUND: RuntimeNotFoundError,
    ErrorCode.ERROR_CODE_SESSION_NOT_FOUND: SessionNotFoundError,
    ErrorCode.ERROR_CODE_ALREADY_EXISTS: AlreadyExistsError,
    ErrorCode.ERROR_CODE_SESSION_MISMATCH: SessionMismatchError,
    ErrorCode.ERROR_CODE_NOT_CONFIGURED: NotConfiguredError,
    ErrorCode.ERROR_CODE_UNAUTHENTICATED: UnauthenticatedError,
    ErrorCode.ERROR_CODE_ACCESS_DENIED: AccessDeniedError,
    ErrorCode.ERROR_CODE_MESSAGE_TOO_LARGE: MessageTooLargeError,
    ErrorCode.ERROR_CODE_LIMIT_EXCEEDED: LimitExceededError,
}

_PREFIX = "ERROR_CODE_"


def reason_of(code: int) -> str:
    """The ErrorInfo reason the server sends for an error code: the enum
    value's name without its prefix ("RUNTIME_NOT_FOUND" for 16)."""
    return ErrorCode.Name(code)[len(_PREFIX) :]


# ErrorInfo reason -> class, the names taken from the generated enum.
_BY_REASON: dict[str, type[GgufdError]] = {
    reason_of(code): cls for code, cls in _BY_CODE.items()
}

# For failures without an ErrorInfo: the transport's or the client's own,
# and gRPC's own services (reflection, channelz), which ggufd refuses with a
# bare UNAUTHENTICATED or PERMISSION_DENIED. ggufd's own PERMISSION_DENIED
# (PermissionDeniedError, a model path outside its directory) always carries
# an ErrorInfo, so a bare one is an access refusal.
_BY_GRPC_CODE: dict[grpc.StatusCode, type[GgufdError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: RequestCancelledError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: QueueFullError,
    grpc.StatusCode.PERMISSION_DENIED: AccessDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INTERNAL: InternalError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}

# How gRPC itself words a RESOURCE_EXHAUSTED for a message over its size
# limit ("Received message larger than max (N vs. M)", also "Sent ..."):
# ggufd's own check sends MESSAGE_TOO_LARGE, but gRPC drops messages above
# twice that limit before ggufd sees them.
_GRPC_SIZE_LIMIT_TEXT = "message larger than max"


def _class_without_reason(code: grpc.StatusCode, message: str) -> type[GgufdError]:
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and _GRPC_SIZE_LIMIT_TEXT in message.lower():
        return MessageTooLargeError
    return _BY_GRPC_CODE.get(code, GgufdError)


def _rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status in the error's trailer, if any.

    Works for both grpc.RpcError (a grpc.Call) and grpc.aio.AioRpcError,
    whose code(), details() and trailing_metadata() are plain methods.
    """
    call: Any = error
    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
        return status
    except ValueError:
        # The trailer disagrees with the call's code or message (a proxy
        # rewrote one of them): the trailer still says what went wrong.
        for key, value in call.trailing_metadata() or ():
            if key == _DETAILS_KEY:
                return status_pb2.Status.FromString(value)
        return None


def from_rpc_error(error: grpc.RpcError) -> GgufdError:
    """The typed GgufdError for a failed call (sync or asyncio)."""
    call: Any = error  # a grpc.Call or an AioRpcError
    code: grpc.StatusCode = call.code()
    message: str = call.details() or ""
    reason = ""
    error_code = 0
    metadata: dict[str, str] = {}
    retry_delay: float | None = None
    violations: list[FieldViolation] = []
    status = _rich_status(error)
    if status is not None:
        for detail in status.details:
            # Unpack is False when the detail is of another type.
            info = error_details_pb2.ErrorInfo()
            retry = error_details_pb2.RetryInfo()
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(info):
                if info.domain != ERROR_DOMAIN:
                    continue
                reason = info.reason
                metadata = dict(info.metadata)
                try:
                    error_code = int(metadata.get("error_code", "0"))
                except ValueError:
                    error_code = 0
            elif detail.Unpack(retry):
                retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
            elif detail.Unpack(bad):
                violations += [
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                ]
    cls = _BY_REASON.get(reason) or _class_without_reason(code, message)
    return cls(
        message,
        grpc_code=code,
        reason=reason,
        error_code=error_code,
        retry_delay=retry_delay,
        metadata=metadata,
        field_violations=tuple(violations),
    )
