package dev.ggufd.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import dev.ggufd.v1.ErrorCode;
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
 *
 * <p>The security and limit refusals also have their own subclasses, so they can be caught by
 * type: {@link Unauthenticated} (21), {@link AccessDenied} (22), {@link MessageTooLarge} (23) and
 * {@link LimitExceeded} (24). Every other failure is a plain GgufdException.
 */
public sealed class GgufdException extends RuntimeException {
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
    return create(status, reason, errorCode, retryDelay, badFields, t);
  }

  /** The subclass for a refusal, chosen by ggufd's reason or, without ErrorInfo, by the status. */
  private static GgufdException create(
      Status status,
      String reason,
      int errorCode,
      Duration retryDelay,
      List<String> badFields,
      Throwable cause) {
    Kind kind = Kind.of(status, reason);
    return switch (kind) {
      case UNAUTHENTICATED ->
          new Unauthenticated(status, reason, errorCode, retryDelay, badFields, cause);
      case ACCESS_DENIED ->
          new AccessDenied(status, reason, errorCode, retryDelay, badFields, cause);
      case MESSAGE_TOO_LARGE ->
          new MessageTooLarge(status, reason, errorCode, retryDelay, badFields, cause);
      case LIMIT_EXCEEDED ->
          new LimitExceeded(status, reason, errorCode, retryDelay, badFields, cause);
      case OTHER -> new GgufdException(status, reason, errorCode, retryDelay, badFields, cause);
    };
  }

  private enum Kind {
    UNAUTHENTICATED,
    ACCESS_DENIED,
    MESSAGE_TOO_LARGE,
    LIMIT_EXCEEDED,
    OTHER;

    static Kind of(Status status, String reason) {
      if (!reason.isEmpty()) {
        return switch (codeOfReason(reason)) {
          case ERROR_CODE_UNAUTHENTICATED -> UNAUTHENTICATED;
          case ERROR_CODE_ACCESS_DENIED -> ACCESS_DENIED;
          case ERROR_CODE_MESSAGE_TOO_LARGE -> MESSAGE_TOO_LARGE;
          case ERROR_CODE_LIMIT_EXCEEDED -> LIMIT_EXCEEDED;
          // e.g. PERMISSION_DENIED (11), a model path outside the model directory: a status of
          // the same code, but not a refusal of the caller.
          default -> OTHER;
        };
      }
      // No ErrorInfo: the refusal came from gRPC itself (reflection and channelz refused by the
      // server's interceptor, a message gRPC dropped before ggufd saw it, a response above this
      // client's inbound limit), so the code, and for sizes gRPC's own wording, tell what it was.
      return switch (status.getCode()) {
        case UNAUTHENTICATED -> UNAUTHENTICATED;
        case PERMISSION_DENIED -> ACCESS_DENIED;
        case RESOURCE_EXHAUSTED ->
            isSizeRefusal(status.getDescription()) ? MESSAGE_TOO_LARGE : OTHER;
        default -> OTHER;
      };
    }

    /** gRPC's messages for a message over a size limit (C++ core and grpc-java). */
    private static boolean isSizeRefusal(String description) {
      return description != null
          && (description.contains("larger than max")
              || description.contains("exceeds maximum size"));
    }
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

  /**
   * ggufd's error code as the generated enum (proto/ggufd/v1/error_code.proto), named by the
   * ErrorInfo reason; {@link ErrorCode#UNRECOGNIZED} when the server sent none or one this
   * client's protos do not know.
   */
  public ErrorCode errorCodeEnum() {
    return codeOfReason(reason);
  }

  /** The ErrorInfo reason the server sends for {@code code}: its name without the prefix. */
  public static String reasonOf(ErrorCode code) {
    if (code == ErrorCode.UNRECOGNIZED) {
      return "";
    }
    return code.name().substring(ERROR_CODE_PREFIX.length());
  }

  /** The error code an ErrorInfo reason names; {@link ErrorCode#UNRECOGNIZED} for an unknown one. */
  public static ErrorCode codeOfReason(String reason) {
    if (reason == null || reason.isEmpty()) {
      return ErrorCode.UNRECOGNIZED;
    }
    try {
      return ErrorCode.valueOf(ERROR_CODE_PREFIX + reason);
    } catch (IllegalArgumentException e) {
      return ErrorCode.UNRECOGNIZED;
    }
  }

  // The enum's value names are ERROR_CODE_<reason>.
  private static final String ERROR_CODE_PREFIX = "ERROR_CODE_";

  /** How long the server asks the client to wait before retrying (RetryInfo), if it said. */
  public Optional<Duration> retryDelay() {
    return Optional.ofNullable(retryDelay);
  }

  /** The request fields a BadRequest detail named (INVALID_ARGUMENT); empty otherwise. */
  public List<String> badFields() {
    return badFields;
  }

  /**
   * Whether the same request may succeed later: the queue was full or the server unavailable. A
   * request over a size or count limit ({@link MessageTooLarge}, {@link LimitExceeded}) is
   * RESOURCE_EXHAUSTED too, but fails the same way every time.
   */
  public boolean isRetryable() {
    if (this instanceof MessageTooLarge || this instanceof LimitExceeded) {
      return false;
    }
    return code == Status.Code.UNAVAILABLE || code == Status.Code.RESOURCE_EXHAUSTED;
  }

  /**
   * UNAUTHENTICATED (ggufd error 21): the call carried no credentials, or a token or client
   * certificate the server's auth file does not list. Also a bare UNAUTHENTICATED status without
   * ErrorInfo (gRPC's reflection and channelz services).
   */
  public static final class Unauthenticated extends GgufdException {
    private static final long serialVersionUID = 1L;

    private Unauthenticated(
        Status status,
        String reason,
        int errorCode,
        Duration retryDelay,
        List<String> badFields,
        Throwable cause) {
      super(status, reason, errorCode, retryDelay, badFields, cause);
    }
  }

  /**
   * PERMISSION_DENIED with reason ACCESS_DENIED (ggufd error 22): the caller is known but its role
   * (inference vs admin) or ownership (another caller's request or session) forbids the call. Also
   * a bare PERMISSION_DENIED status without ErrorInfo.
   */
  public static final class AccessDenied extends GgufdException {
    private static final long serialVersionUID = 1L;

    private AccessDenied(
        Status status,
        String reason,
        int errorCode,
        Duration retryDelay,
        List<String> badFields,
        Throwable cause) {
      super(status, reason, errorCode, retryDelay, badFields, cause);
    }
  }

  /**
   * RESOURCE_EXHAUSTED with reason MESSAGE_TOO_LARGE (ggufd error 23): the request message is
   * larger than the server's --max-receive-message-bytes. Also gRPC's own size refusal without
   * ErrorInfo (a message over twice the limit, or a response over this client's inbound limit).
   * Never retryable.
   */
  public static final class MessageTooLarge extends GgufdException {
    private static final long serialVersionUID = 1L;

    private MessageTooLarge(
        Status status,
        String reason,
        int errorCode,
        Duration retryDelay,
        List<String> badFields,
        Throwable cause) {
      super(status, reason, errorCode, retryDelay, badFields, cause);
    }
  }

  /**
   * LIMIT_EXCEEDED (ggufd error 24): the request goes beyond a server limit. INVALID_ARGUMENT for
   * --max-prompt-tokens and --max-new-tokens ({@link #badFields()} names the field, e.g.
   * "stopping.max_tokens"), RESOURCE_EXHAUSTED for --max-runtimes. Never retryable.
   */
  public static final class LimitExceeded extends GgufdException {
    private static final long serialVersionUID = 1L;

    private LimitExceeded(
        Status status,
        String reason,
        int errorCode,
        Duration retryDelay,
        List<String> badFields,
        Throwable cause) {
      super(status, reason, errorCode, retryDelay, badFields, cause);
    }
  }
}
