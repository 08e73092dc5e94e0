package ggufd.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A failed ggufd call: the gRPC status plus what the server put in the {@code
 * grpc-status-details-bin} trailer (google.rpc.ErrorInfo with domain "ggufd", RetryInfo,
 * BadRequest). Callers branch on {@link #reason()} or {@link #errorCode()} rather than on the
 * message text, which is for people.
 */
public final class GgufdException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The ErrorInfo domain ggufd uses; details from other domains are not ggufd's codes. */
  public static final String DOMAIN = "ggufd";

  private final Status.Code code;
  private final String reason;
  private final int errorCode;
  private final Duration retryDelay;
  private final List<String> badFields;

  private GgufdException(
      Status status,
      String reason,
      int errorCode,
      Duration retryDelay,
      List<String> badFields,
      Throwable cause) {
    super(describe(status, reason, errorCode), cause);
    this.code = status.getCode();
    this.reason = reason;
    this.errorCode = errorCode;
    this.retryDelay = retryDelay;
    this.badFields = List.copyOf(badFields);
  }

  /**
   * Converts any throwable from a gRPC call (StatusRuntimeException, StatusException, or anything
   * else, which becomes UNKNOWN) into a GgufdException; returns {@code t} itself when it already is
   * one.
   */
  public static GgufdException from(Throwable t) {
    if (t instanceof GgufdException already) {
      return already;
    }
    Status status = Status.fromThrowable(t);
    String reason = "";
    int errorCode = 0;
    Duration retryDelay = null;
    List<String> badFields = new ArrayList<>();
    com.google.rpc.Status details = StatusProto.fromThrowable(t);
    if (details != null) {
      for (Any any : details.getDetailsList()) {
        try {
          if (any.is(ErrorInfo.class)) {
            ErrorInfo info = any.unpack(ErrorInfo.class);
            if (DOMAIN.equals(info.getDomain())) {
              reason = info.getReason();
              errorCode = parseErrorCode(info.getMetadataMap().get("error_code"));
            }
          } else if (any.is(RetryInfo.class)) {
            com.google.protobuf.Duration d = any.unpack(RetryInfo.class).getRetryDelay();
            retryDelay = Duration.ofSeconds(d.getSeconds(), d.getNanos());
          } else if (any.is(BadRequest.class)) {
            for (BadRequest.FieldViolation v :
                any.unpack(BadRequest.class).getFieldViolationsList()) {
              badFields.add(v.getField());
            }
          }
        } catch (InvalidProtocolBufferException malformed) {
          // A detail we cannot decode adds nothing; the gRPC status still tells what failed.
        }
      }
    }
    return new GgufdException(status, reason, errorCode, retryDelay, badFields, t);
  }

  private static int parseErrorCode(String text) {
    if (text == null) {
      return 0;
    }
    try {
      return Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String describe(Status status, String reason, int errorCode) {
    StringBuilder sb = new StringBuilder(status.getCode().name());
    if (status.getDescription() != null && !status.getDescription().isEmpty()) {
      sb.append(": ").append(status.getDescription());
    }
    if (!reason.isEmpty()) {
      sb.append(" (").append(reason).append(", ggufd error ").append(errorCode).append(')');
    }
    return sb.toString();
  }

  /** The gRPC status code. */
  public Status.Code code() {
    return code;
  }

  /** ErrorInfo.reason, the name of ggufd's error code ("QUEUE_FULL", ...); "" when absent. */
  public String reason() {
    return reason;
  }

  /** ggufd's numeric error code (ErrorInfo metadata "error_code"); 0 when absent. */
  public int errorCode() {
    return errorCode;
  }

  /** How long the server asks the client to wait before retrying (RetryInfo), if it said. */
  public Optional<Duration> retryDelay() {
    return Optional.ofNullable(retryDelay);
  }

  /** The request fields a BadRequest detail named (INVALID_ARGUMENT); empty otherwise. */
  public List<String> badFields() {
    return badFields;
  }

  /** Whether the same request may succeed later: the queue was full or the server unavailable. */
  public boolean isRetryable() {
    return code == Status.Code.UNAVAILABLE || code == Status.Code.RESOURCE_EXHAUSTED;
  }
}
