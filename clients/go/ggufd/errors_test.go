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
