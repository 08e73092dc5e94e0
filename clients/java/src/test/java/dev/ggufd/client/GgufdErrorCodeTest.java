package dev.ggufd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.ggufd.v1.ErrorCode;
import io.grpc.protobuf.StatusProto;
import org.junit.jupiter.api.Test;

/**
 * The client's error table is the generated enum (proto/ggufd/v1/error_code.proto, the server's
 * list): every value decodes from an ErrorInfo to its own reason, number and enum constant.
 */
class GgufdErrorCodeTest {
  private static GgufdException failed(String reason, int number) {
    ErrorInfo info =
        ErrorInfo.newBuilder()
            .setDomain("ggufd")
            .setReason(reason)
            .putMetadata("error_code", Integer.toString(number))
            .build();
    com.google.rpc.Status status =
        com.google.rpc.Status.newBuilder()
            .setCode(io.grpc.Status.Code.UNKNOWN.value())
            .setMessage("boom")
            .addDetails(Any.pack(info))
            .build();
    return GgufdException.from(StatusProto.toStatusRuntimeException(status));
  }

  @Test
  void everyEnumValueDecodes() {
    int checked = 0;
    for (ErrorCode code : ErrorCode.values()) {
      if (code == ErrorCode.UNRECOGNIZED || code == ErrorCode.ERROR_CODE_OK) {
        continue;
      }
      String reason = GgufdException.reasonOf(code);
      assertEquals(code.name(), "ERROR_CODE_" + reason);
      assertEquals(code, GgufdException.codeOfReason(reason));
      GgufdException e = failed(reason, code.getNumber());
      assertEquals(reason, e.reason());
      assertEquals(code.getNumber(), e.errorCode());
      assertEquals(code, e.errorCodeEnum());
      checked++;
    }
    assertTrue(checked >= 24, "only " + checked + " codes");
  }

  @Test
  void laterCodesAndTypedErrors() {
    assertEquals(16, ErrorCode.ERROR_CODE_RUNTIME_NOT_FOUND.getNumber());
    assertEquals(
        ErrorCode.ERROR_CODE_RUNTIME_NOT_FOUND, failed("RUNTIME_NOT_FOUND", 16).errorCodeEnum());
    assertInstanceOf(GgufdException.Unauthenticated.class, failed("UNAUTHENTICATED", 21));
    assertInstanceOf(GgufdException.LimitExceeded.class, failed("LIMIT_EXCEEDED", 24));
    assertEquals(ErrorCode.UNRECOGNIZED, GgufdException.codeOfReason("NO_SUCH_REASON"));
    assertEquals(ErrorCode.UNRECOGNIZED, failed("", 0).errorCodeEnum());
  }
}
