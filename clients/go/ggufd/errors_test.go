package ggufd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestWrapErrorDecodesDetails(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "queue full").WithDetails(
		&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: "QUEUE_FULL",
			Metadata: map[string]string{"error_code": "10"}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(250 * time.Millisecond)},
	)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := fmt.Errorf("call: %w", wrapError(st.Err()))
	var e *Error
	if !errors.As(wrapped, &e) {
		t.Fatalf("errors.As found no *Error in %v", wrapped)
	}
	if e.Code != codes.ResourceExhausted || e.Reason != "QUEUE_FULL" ||
		e.ErrorCode != ErrorCodeQueueFull || e.RetryDelay != 250*time.Millisecond || !e.Retryable() {
		t.Errorf("decoded %+v", e)
	}
	if status.Code(e) != codes.ResourceExhausted {
		t.Errorf("status.Code(*Error) = %v", status.Code(e))
	}
}

func TestWrapErrorIgnoresForeignDomainAndBadNumber(t *testing.T) {
	st, err := status.New(codes.FailedPrecondition, "x").WithDetails(
		&errdetails.ErrorInfo{Domain: "elsewhere", Reason: "OTHER",
			Metadata: map[string]string{"error_code": "5"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	e := wrapError(st.Err()).(*Error)
	if e.Reason != "" || e.ErrorCode != 0 {
		t.Errorf("foreign ErrorInfo decoded as ggufd's: %+v", e)
	}
	st, _ = status.New(codes.Internal, "y").WithDetails(
		&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: "INTERNAL",
			Metadata: map[string]string{"error_code": "twelve"}})
	e = wrapError(st.Err()).(*Error)
	if e.Reason != "INTERNAL" || e.ErrorCode != 0 {
		t.Errorf("malformed error_code: %+v", e)
	}
}

func TestWrapErrorContextCodesAndPassThrough(t *testing.T) {
	if err := wrapError(status.Error(codes.DeadlineExceeded, "late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v is not context.DeadlineExceeded", err)
	}
	if err := wrapError(status.Error(codes.Canceled, "gone")); !errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v: wrong context error identity", err)
	}
	if wrapError(io.EOF) != io.EOF || wrapError(nil) != nil {
		t.Error("non-status errors must pass through unchanged")
	}
}

func TestRefusalKindsFollowReasonOrStatusCode(t *testing.T) {
	kinds := []error{ErrUnauthenticated, ErrAccessDenied, ErrMessageTooLarge, ErrLimitExceeded}
	withInfo := func(code codes.Code, reason string, n int) error {
		st, err := status.New(code, "refused").WithDetails(&errdetails.ErrorInfo{
			Domain: ErrorDomain, Reason: reason,
			Metadata: map[string]string{"error_code": fmt.Sprint(n)}})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	cases := []struct {
		name string
		err  error
		want error // nil: none of the kinds
	}{
		{"unauthenticated", withInfo(codes.Unauthenticated, "UNAUTHENTICATED", 21), ErrUnauthenticated},
		{"access denied", withInfo(codes.PermissionDenied, "ACCESS_DENIED", 22), ErrAccessDenied},
		{"path outside the model dir", withInfo(codes.PermissionDenied, "PERMISSION_DENIED", 11), nil},
		{"message too large", withInfo(codes.ResourceExhausted, "MESSAGE_TOO_LARGE", 23), ErrMessageTooLarge},
		{"token limit", withInfo(codes.InvalidArgument, "LIMIT_EXCEEDED", 24), ErrLimitExceeded},
		{"runtime limit", withInfo(codes.ResourceExhausted, "LIMIT_EXCEEDED", 24), ErrLimitExceeded},
		{"queue full", withInfo(codes.ResourceExhausted, "QUEUE_FULL", 10), nil},
		{"invalid argument", withInfo(codes.InvalidArgument, "INVALID_ARGUMENT", 1), nil},
		// Statuses without ErrorInfo: reflection's refusals, gRPC's own
		// size limits, a failing token source.
		{"bare unauthenticated", status.Error(codes.Unauthenticated, "x"), ErrUnauthenticated},
		{"bare permission denied", status.Error(codes.PermissionDenied, "x"), ErrAccessDenied},
		{"grpc size limit", status.Error(codes.ResourceExhausted,
			"Received message larger than max (9000 vs. 4096)"), ErrMessageTooLarge},
		{"grpc-go send limit", status.Error(codes.ResourceExhausted,
			"trying to send message larger than max (9000 vs. 4096)"), ErrMessageTooLarge},
		{"bare resource exhausted", status.Error(codes.ResourceExhausted, "busy"), nil},
		{"bare invalid argument", status.Error(codes.InvalidArgument, "x"), nil},
	}
	for _, c := range cases {
		// Wrapped once more, as a caller might.
		err := fmt.Errorf("calling: %w", WrapError(c.err))
		for _, kind := range kinds {
			if got := errors.Is(err, kind); got != (kind == c.want) {
				t.Errorf("%s: errors.Is(%v, %v) = %v", c.name, err, kind, got)
			}
		}
	}
	if errors.Is(WrapError(status.Error(codes.Unauthenticated, "x")), context.Canceled) {
		t.Error("a refusal must not read as a cancellation")
	}
}
