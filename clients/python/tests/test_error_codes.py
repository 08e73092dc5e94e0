"""The error table follows proto/ggufd/v1/error_code.proto: every code the
server can send (each value of the generated enum) decodes to its own typed
error, with the reason the server puts in ErrorInfo."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

import ggufd
from ggufd import errors
from ggufd.v1.error_code_pb2 import ErrorCode


class _FailedCall(grpc.RpcError):
    """A failed call as grpc hands it over: code, details, trailer."""

    def __init__(self, code: grpc.StatusCode, reason: str, number: int) -> None:
        info = error_details_pb2.ErrorInfo(
            domain="ggufd", reason=reason, metadata={"error_code": str(number)}
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        status = status_pb2.Status(code=code.value[0], message="boom", details=[detail])
        self._code = code
        self._trailer = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "boom"

    def trailing_metadata(self):  # noqa: ANN201 - grpc's own type
        return self._trailer


ERROR_VALUES = [v for v in ErrorCode.DESCRIPTOR.values if v.number != 0]


def test_enum_is_exported_and_has_the_later_codes() -> None:
    assert ggufd.ErrorCode is ErrorCode
    assert ErrorCode.Value("ERROR_CODE_RUNTIME_NOT_FOUND") == 16
    assert ErrorCode.Value("ERROR_CODE_LIMIT_EXCEEDED") == 24


@pytest.mark.parametrize("value", ERROR_VALUES, ids=lambda v: v.name)
def test_every_code_decodes_to_its_own_class(value) -> None:  # noqa: ANN001
    reason = value.name.removeprefix("ERROR_CODE_")
    assert errors.reason_of(value.number) == reason
    error = errors.from_rpc_error(_FailedCall(grpc.StatusCode.UNKNOWN, reason, value.number))
    assert type(error) is not errors.GgufdError, f"{reason} has no class"
    assert error.reason == reason
    assert error.error_code == value.number


def test_classes_are_distinct() -> None:
    classes = [errors._BY_CODE[v.number] for v in ERROR_VALUES]
    assert len(set(classes)) == len(classes)
    assert set(errors._BY_CODE) == {v.number for v in ERROR_VALUES}


def test_runtime_not_found_is_recognized() -> None:
    error = errors.from_rpc_error(
        _FailedCall(grpc.StatusCode.NOT_FOUND, "RUNTIME_NOT_FOUND", 16)
    )
    assert isinstance(error, ggufd.RuntimeNotFoundError)
