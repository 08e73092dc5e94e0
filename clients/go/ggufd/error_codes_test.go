package ggufd

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
)

// Every code of the generated enum (the server's list) round-trips through
// ReasonOf/CodeOfReason and decodes from an ErrorInfo with its number.
func TestEveryEnumCodeIsRecognized(t *testing.T) {
	if len(ggufdv1.ErrorCode_name) < 25 {
		t.Fatalf("enum has %d values, want the 25 of error_code.proto at least",
			len(ggufdv1.ErrorCode_name))
	}
	for n, name := range ggufdv1.ErrorCode_name {
		if n == 0 {
			continue // OK is never sent
		}
		code := ggufdv1.ErrorCode(n)
		reason := ReasonOf(code)
		if reason != strings.TrimPrefix(name, "ERROR_CODE_") || reason == "" {
			t.Errorf("ReasonOf(%d) = %q, enum name %q", n, reason, name)
		}
		if got, ok := CodeOfReason(reason); !ok || got != code {
			t.Errorf("CodeOfReason(%q) = %v, %v; want %v", reason, got, ok, code)
		}
		st, err := status.New(codes.Unknown, "x").WithDetails(
			&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: reason,
				Metadata: map[string]string{"error_code": strconv.Itoa(int(n))}})
		if err != nil {
			t.Fatal(err)
		}
		e := wrapError(st.Err()).(*Error)
		if e.Reason != reason || e.ErrorCode != int(n) {
			t.Errorf("%s decoded as %+v", name, e)
		}
	}
}

func TestLaterCodesAreInTheTable(t *testing.T) {
	if ErrorCodeRuntimeNotFound != 16 || ReasonOf(16) != "RUNTIME_NOT_FOUND" {
		t.Errorf("RUNTIME_NOT_FOUND: constant %d, reason %q",
			ErrorCodeRuntimeNotFound, ReasonOf(16))
	}
	if ErrorCodeLimitExceeded != 24 || ReasonOf(24) != "LIMIT_EXCEEDED" {
		t.Errorf("LIMIT_EXCEEDED: constant %d, reason %q",
			ErrorCodeLimitExceeded, ReasonOf(24))
	}
	if _, ok := CodeOfReason("NO_SUCH_REASON"); ok {
		t.Error("an unknown reason was recognized")
	}
	if ReasonOf(ggufdv1.ErrorCode(9999)) != "" {
		t.Error("an unknown number got a reason")
	}
}
