package ggufd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of ggufd's errors.
const ErrorDomain = "ggufd"

// ggufd's numeric error codes, as found in Error.ErrorCode: the values of
// the generated ggufdv1.ErrorCode enum (proto/ggufd/v1/error_code.proto,
// the server's list). Error.Reason carries the same code's name without
// the ERROR_CODE_ prefix; ReasonOf and CodeOfReason convert.
const (
	ErrorCodeInvalidArgument  = int(ggufdv1.ErrorCode_ERROR_CODE_INVALID_ARGUMENT)
	ErrorCodeModelNotFound    = int(ggufdv1.ErrorCode_ERROR_CODE_MODEL_NOT_FOUND)
	ErrorCodeInvalidModel     = int(ggufdv1.ErrorCode_ERROR_CODE_INVALID_MODEL)
	ErrorCodeUnsupportedModel = int(ggufdv1.ErrorCode_ERROR_CODE_UNSUPPORTED_MODEL)
	ErrorCodeNoModel          = int(ggufdv1.ErrorCode_ERROR_CODE_NO_MODEL)
	ErrorCodeContextOverflow  = int(ggufdv1.ErrorCode_ERROR_CODE_CONTEXT_OVERFLOW)
	ErrorCodeOutOfMemory      = int(ggufdv1.ErrorCode_ERROR_CODE_OUT_OF_MEMORY)
	ErrorCodeCancelled        = int(ggufdv1.ErrorCode_ERROR_CODE_CANCELLED)
	ErrorCodeDeadlineExceeded = int(ggufdv1.ErrorCode_ERROR_CODE_DEADLINE_EXCEEDED)
	ErrorCodeQueueFull        = int(ggufdv1.ErrorCode_ERROR_CODE_QUEUE_FULL)
	ErrorCodePermissionDenied = int(ggufdv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED)
	ErrorCodeInternal         = int(ggufdv1.ErrorCode_ERROR_CODE_INTERNAL)
	ErrorCodeGenerationFailed = int(ggufdv1.ErrorCode_ERROR_CODE_GENERATION_FAILED)
	ErrorCodeUnavailable      = int(ggufdv1.ErrorCode_ERROR_CODE_UNAVAILABLE)
	ErrorCodeShuttingDown     = int(ggufdv1.ErrorCode_ERROR_CODE_SHUTTING_DOWN)
	ErrorCodeRuntimeNotFound  = int(ggufdv1.ErrorCode_ERROR_CODE_RUNTIME_NOT_FOUND)
	ErrorCodeSessionNotFound  = int(ggufdv1.ErrorCode_ERROR_CODE_SESSION_NOT_FOUND)
	ErrorCodeAlreadyExists    = int(ggufdv1.ErrorCode_ERROR_CODE_ALREADY_EXISTS)
	ErrorCodeSessionMismatch  = int(ggufdv1.ErrorCode_ERROR_CODE_SESSION_MISMATCH)
	ErrorCodeNotConfigured    = int(ggufdv1.ErrorCode_ERROR_CODE_NOT_CONFIGURED)
	ErrorCodeUnauthenticated  = int(ggufdv1.ErrorCode_ERROR_CODE_UNAUTHENTICATED)
	ErrorCodeAccessDenied     = int(ggufdv1.ErrorCode_ERROR_CODE_ACCESS_DENIED)
	ErrorCodeMessageTooLarge  = int(ggufdv1.ErrorCode_ERROR_CODE_MESSAGE_TOO_LARGE)
	ErrorCodeLimitExceeded    = int(ggufdv1.ErrorCode_ERROR_CODE_LIMIT_EXCEEDED)
)

// errorCodePrefix is what the enum's value names add to an ErrorInfo reason.
const errorCodePrefix = "ERROR_CODE_"

// ReasonOf is the ErrorInfo reason the server sends for code, e.g.
// "RUNTIME_NOT_FOUND" for ErrorCode_ERROR_CODE_RUNTIME_NOT_FOUND; "" for a
// number the enum does not know.
func ReasonOf(code ggufdv1.ErrorCode) string {
	name, ok := ggufdv1.ErrorCode_name[int32(code)]
	if !ok {
		return ""
	}
	return strings.TrimPrefix(name, errorCodePrefix)
}

// CodeOfReason is the error code an ErrorInfo reason names (false for a
// reason the enum does not know).
func CodeOfReason(reason string) (ggufdv1.ErrorCode, bool) {
	n, ok := ggufdv1.ErrorCode_value[errorCodePrefix+reason]
	if !ok || reason == "" {
		return 0, false
	}
	return ggufdv1.ErrorCode(n), true
}

// Kinds of refusal that callers handle apart, for errors.Is on any error a
// Client method returns: errors.Is(err, ggufd.ErrUnauthenticated). They
// match ggufd's ErrorInfo reason, and, for a status without ErrorInfo (gRPC
// reflection and channelz refuse that way, gRPC itself refuses a message
// above twice --max-receive-message-bytes that way), its status code.
// None of them is retryable: sending the same call again gets the same
// answer.
var (
	// ErrUnauthenticated: no credentials, or a token or client certificate
	// the server's --auth-file does not list (UNAUTHENTICATED, 21).
	ErrUnauthenticated = errors.New("ggufd: unauthenticated")
	// ErrAccessDenied: the caller's role or ownership does not allow the
	// call, e.g. an inference token calling the Runtime service
	// (PERMISSION_DENIED, reason ACCESS_DENIED, 22). A path outside the
	// model directory (reason PERMISSION_DENIED, 11) is not this.
	ErrAccessDenied = errors.New("ggufd: access denied")
	// ErrMessageTooLarge: the request is larger than the server's
	// --max-receive-message-bytes (RESOURCE_EXHAUSTED, 23), or gRPC
	// refused a message above its size limit (RESOURCE_EXHAUSTED "...
	// message larger than max ...", no ErrorInfo).
	ErrMessageTooLarge = errors.New("ggufd: message too large")
	// ErrLimitExceeded: the request goes beyond a server limit
	// (LIMIT_EXCEEDED, 24): --max-prompt-tokens or --max-new-tokens
	// (INVALID_ARGUMENT, FieldViolations names the field), or
	// --max-runtimes (RESOURCE_EXHAUSTED).
	ErrLimitExceeded = errors.New("ggufd: limit exceeded")
)

// Error is a failed call: the gRPC status plus the details ggufd attaches to
// it. Every method of Client returns its failures as *Error; get at it with
// errors.As. A status without ggufd details (a transport failure, a client
// deadline) still becomes an *Error, with an empty Reason and ErrorCode 0.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message.
	Message string
	// Reason is the ErrorInfo reason: the error code's name, such as
	// "NO_MODEL", "QUEUE_FULL" or "GENERATION_FAILED".
	Reason string
	// ErrorCode is ggufd's numeric error code (ErrorCode* constants), from
	// the ErrorInfo metadata "error_code".
	ErrorCode int
	// Metadata is the whole ErrorInfo metadata.
	Metadata map[string]string
	// RetryDelay is the RetryInfo delay the server suggests (0 when it sent
	// none, i.e. retrying will not help).
	RetryDelay time.Duration
	// FieldViolations maps a field to why it was refused (BadRequest details
	// of INVALID_ARGUMENT errors).
	FieldViolations map[string]string

	status *status.Status
}

// Error formats the status the way ggufctl prints it.
func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("ggufd: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("ggufd: %s: %s (%s, error code %d)", e.Code, e.Message,
		e.Reason, e.ErrorCode)
}

// GRPCStatus lets status.FromError and status.Code see through the wrapper.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Is makes errors.Is(err, context.DeadlineExceeded) and
// errors.Is(err, context.Canceled) hold for the matching gRPC codes, so a
// context's expiry reads the same whether the client or the server noticed,
// and errors.Is(err, ErrUnauthenticated) and the other refusal kinds hold
// for their reason (or, without ErrorInfo, their status code).
func (e *Error) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	case context.Canceled:
		return e.Code == codes.Canceled
	case ErrUnauthenticated:
		return e.Reason == "UNAUTHENTICATED" ||
			e.Reason == "" && e.Code == codes.Unauthenticated
	case ErrAccessDenied:
		return e.Reason == "ACCESS_DENIED" ||
			e.Reason == "" && e.Code == codes.PermissionDenied
	case ErrMessageTooLarge:
		// gRPC's own size refusals, which carry no ErrorInfo, all say
		// "message larger than max": the server's for a request above
		// twice its limit, grpc-go's for a request above
		// MaxCallSendMsgSize or an answer above MaxCallRecvMsgSize.
		return e.Reason == "MESSAGE_TOO_LARGE" ||
			e.Reason == "" && e.Code == codes.ResourceExhausted &&
				strings.Contains(e.Message, "message larger than max")
	case ErrLimitExceeded:
		return e.Reason == "LIMIT_EXCEEDED"
	}
	return false
}

// Retryable tells whether the server said a retry may succeed (it attached
// RetryInfo: a full queue, a dead worker, a draining server).
func (e *Error) Retryable() bool { return e.RetryDelay > 0 }

// WrapError turns an error of a generated stub called on Conn into *Error,
// as Client's methods do with theirs, so errors.As(err, &*Error) and
// errors.Is(err, ErrAccessDenied) work on it too. Any other error (nil,
// io.EOF, an *Error already) is returned as it is.
func WrapError(err error) error { return wrapError(err) }

// wrapError is WrapError.
func wrapError(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	return newError(st)
}

func newError(st *status.Status) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() != ErrorDomain {
				continue
			}
			e.Reason = d.GetReason()
			e.Metadata = d.GetMetadata()
			// A malformed number leaves ErrorCode 0 rather than failing the
			// decode of an otherwise useful error.
			if n, err := strconv.Atoi(d.GetMetadata()["error_code"]); err == nil {
				e.ErrorCode = n
			}
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		case *errdetails.BadRequest:
			if e.FieldViolations == nil {
				e.FieldViolations = map[string]string{}
			}
			for _, v := range d.GetFieldViolations() {
				e.FieldViolations[v.GetField()] = v.GetDescription()
			}
		}
	}
	return e
}
