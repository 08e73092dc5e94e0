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
)

// ErrorDomain is the google.rpc.ErrorInfo domain of ggufd's errors.
const ErrorDomain = "ggufd"

// ggufd's numeric error codes (runtime/error_code.h), as found in
// Error.ErrorCode. Error.Reason carries the same code's name.
const (
	ErrorCodeInvalidArgument  = 1
	ErrorCodeModelNotFound    = 2
	ErrorCodeInvalidModel     = 3
	ErrorCodeUnsupportedModel = 4
	ErrorCodeNoModel          = 5
	ErrorCodeContextOverflow  = 6
	ErrorCodeOutOfMemory      = 7
	ErrorCodeCancelled        = 8
	ErrorCodeDeadlineExceeded = 9
	ErrorCodeQueueFull        = 10
	ErrorCodePermissionDenied = 11
	ErrorCodeInternal         = 12
	ErrorCodeGenerationFailed = 13
	ErrorCodeUnavailable      = 14
	ErrorCodeShuttingDown     = 15
	ErrorCodeRuntimeNotFound  = 16
	ErrorCodeSessionNotFound  = 17
	ErrorCodeAlreadyExists    = 18
	ErrorCodeSessionMismatch  = 19
	ErrorCodeNotConfigured    = 20
	ErrorCodeUnauthenticated  = 21
	ErrorCodeAccessDenied     = 22
	ErrorCodeMessageTooLarge  = 23
	ErrorCodeLimitExceeded    = 24
)

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
