package e2e

// End-to-end tests of the client's TLS, mTLS and token options and of the
// typed security and limit errors. Each test starts its own ggufd (the
// package's shared server stays plaintext and open) with the model loaded
// at start, and certificates made by openssl in a temporary directory.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

// startSecured starts a ggufd with the model already loaded, /metrics on
// an OS-chosen port and the extra flags; it stops at the end of the test.
func startSecured(t *testing.T, extra ...string) *server {
	t.Helper()
	args := append([]string{"--metrics-port", "0",
		"--model", filepath.Join(env.models, modelFile)}, extra...)
	s, err := startServerWith(env, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ggufd log tail:\n%s", s.Log())
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// dial makes a client closed at the end of the test.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *ggufd.Client {
	t.Helper()
	c, err := ggufd.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// withTLS is ggufd.WithTLS that fails the test on a bad option.
func withTLS(t *testing.T, o ggufd.TLSOptions) grpc.DialOption {
	t.Helper()
	opt, err := ggufd.WithTLS(o)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// noRetry keeps a connection that is meant to fail from going through the
// retry policy's backoff (which would only repeat the same refusal): the
// tests stay fast.
var noRetry = grpc.WithDisableRetry()

// generateFew runs a short generation and checks that it produced tokens.
func generateFew(t *testing.T, c *ggufd.Client) {
	t.Helper()
	r, err := c.GenerateText(ctxFor(t, 30*time.Second), textRequest(prompt, 4))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if r.Finished.GetUsage().GetCompletionTokens() == 0 || r.Text == "" {
		t.Fatalf("Generate produced nothing: %+v", r)
	}
}

// tokenizeHello is a cheap call of the Inference service.
func tokenizeHello(t *testing.T, c *ggufd.Client) error {
	_, err := c.Tokenize(ctxFor(t, 10*time.Second), "hello")
	return err
}

// wantRefusedConnection checks that a call failed because the connection
// could not be made (UNAVAILABLE), not as a refusal by ggufd.
func wantRefusedConnection(t *testing.T, err error) {
	t.Helper()
	gerr := wantError(t, err, codes.Unavailable, "", 0)
	if gerr.Reason != "" {
		t.Fatalf("want a transport failure without ggufd's reason, got %v", err)
	}
}

// wantKind checks that err is the refusal kind (errors.Is), with its gRPC
// code, reason and numeric code, without RetryInfo, and not another kind.
func wantKind(t *testing.T, err error, kind error, code codes.Code, reason string, errorCode int) *ggufd.Error {
	t.Helper()
	gerr := wantError(t, err, code, reason, errorCode)
	if !errors.Is(err, kind) {
		t.Fatalf("errors.Is(%v, %v) is false", err, kind)
	}
	for _, other := range []error{ggufd.ErrUnauthenticated, ggufd.ErrAccessDenied,
		ggufd.ErrMessageTooLarge, ggufd.ErrLimitExceeded} {
		if other != kind && errors.Is(err, other) {
			t.Fatalf("%v is also %v", err, other)
		}
	}
	if gerr.Retryable() {
		t.Fatalf("%v says it is retryable (RetryDelay %v)", err, gerr.RetryDelay)
	}
	return gerr
}

// metric reads one series of the server's /metrics (0 when absent), e.g.
// metric(t, `ggufd_limit_rejections_total{limit="new_tokens"}`).
func (s *server) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", s.metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return v
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return 0
}

// A server with --tls-cert/--tls-key serves clients that trust its CA and
// refuses the others at the handshake.
func TestTLS(t *testing.T) {
	ca := newPKI(t, "go-tls")
	ca.IssueServer()
	srv := startSecured(t, "--tls-cert", ca.Cert("server"), "--tls-key", ca.Key("server"))

	t.Run("CAFile", func(t *testing.T) {
		c := dial(t, srv.Addr(), withTLS(t, ggufd.TLSOptions{CAFile: ca.CA()}))
		generateFew(t, c)
		st, err := c.Health(ctxFor(t, 10*time.Second), ggufd.InferenceService)
		if err != nil || st != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Health over TLS = %v, %v", st, err)
		}
	})
	t.Run("CABytesAndServerName", func(t *testing.T) {
		pem, err := os.ReadFile(ca.CA())
		if err != nil {
			t.Fatal(err)
		}
		// The certificate names localhost: checking that name while
		// dialing 127.0.0.1 is what an override is for.
		c := dial(t, srv.Addr(), withTLS(t, ggufd.TLSOptions{CA: pem, ServerName: "localhost"}))
		if err := tokenizeHello(t, c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ServerNameTheCertificateLacks", func(t *testing.T) {
		c := dial(t, srv.Addr(), noRetry,
			withTLS(t, ggufd.TLSOptions{CAFile: ca.CA(), ServerName: "ggufd.invalid"}))
		wantRefusedConnection(t, tokenizeHello(t, c))
	})
	t.Run("AnotherCA", func(t *testing.T) {
		other := newPKI(t, "go-other")
		c := dial(t, srv.Addr(), noRetry, withTLS(t, ggufd.TLSOptions{CAFile: other.CA()}))
		wantRefusedConnection(t, tokenizeHello(t, c))
	})
	t.Run("Plaintext", func(t *testing.T) {
		c := dial(t, srv.Addr(), noRetry)
		wantRefusedConnection(t, tokenizeHello(t, c))
	})
}

// A server with --tls-client-ca (client certificates required) and an auth
// file that lists one client certificate's identity.
func TestMutualTLS(t *testing.T) {
	ca := newPKI(t, "go-mtls")
	ca.IssueServer()
	ca.IssueClient("listed", "spiffe://ggufd.test/go-client")
	ca.IssueClient("unlisted", "spiffe://ggufd.test/stranger")
	const adminToken = "go-mtls-admin-token"
	auth := writeFile(t, t.TempDir(), "auth",
		"cert:spiffe://ggufd.test/go-client inference go-client\n"+
			authLine(adminToken, "admin", "ops"))
	srv := startSecured(t, "--tls-cert", ca.Cert("server"), "--tls-key", ca.Key("server"),
		"--tls-client-ca", ca.CA(), "--tls-client-auth", "required", "--auth-file", auth)
	listed := ggufd.TLSOptions{CAFile: ca.CA(), CertFile: ca.Cert("listed"), KeyFile: ca.Key("listed")}

	t.Run("NoClientCertificate", func(t *testing.T) {
		c := dial(t, srv.Addr(), noRetry, withTLS(t, ggufd.TLSOptions{CAFile: ca.CA()}))
		wantRefusedConnection(t, tokenizeHello(t, c))
	})
	t.Run("ClientCertificateOfAnotherCA", func(t *testing.T) {
		other := newPKI(t, "go-other")
		other.IssueClient("client", "spiffe://ggufd.test/go-client")
		c := dial(t, srv.Addr(), noRetry, withTLS(t, ggufd.TLSOptions{CAFile: ca.CA(),
			CertFile: other.Cert("client"), KeyFile: other.Key("client")}))
		wantRefusedConnection(t, tokenizeHello(t, c))
	})
	t.Run("ListedCertificateNeedsNoToken", func(t *testing.T) {
		c := dial(t, srv.Addr(), withTLS(t, listed))
		generateFew(t, c)
		// Its role is inference: the Diagnostics service is refused.
		_, err := c.Status(ctxFor(t, 10*time.Second))
		wantKind(t, err, ggufd.ErrAccessDenied, codes.PermissionDenied, "ACCESS_DENIED", ggufd.ErrorCodeAccessDenied)
	})
	t.Run("CertificateAsBytes", func(t *testing.T) {
		cert, err := os.ReadFile(listed.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		key, err := os.ReadFile(listed.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, srv.Addr(), withTLS(t, ggufd.TLSOptions{CAFile: ca.CA(), Cert: cert, Key: key}))
		if err := tokenizeHello(t, c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UnlistedCertificate", func(t *testing.T) {
		unlisted := ggufd.TLSOptions{CAFile: ca.CA(), CertFile: ca.Cert("unlisted"), KeyFile: ca.Key("unlisted")}
		c := dial(t, srv.Addr(), withTLS(t, unlisted))
		wantKind(t, tokenizeHello(t, c), ggufd.ErrUnauthenticated, codes.Unauthenticated,
			"UNAUTHENTICATED", ggufd.ErrorCodeUnauthenticated)
		// A token works over that connection (and wins over the
		// certificate: the admin role reaches Diagnostics).
		admin := dial(t, srv.Addr(), withTLS(t, unlisted), ggufd.WithToken(adminToken))
		if _, err := admin.Status(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
	})
}

// A plaintext loopback server with --auth-file: tokens decide who may call
// what, and the client sends them without TLS.
func TestTokens(t *testing.T) {
	const inferenceToken, adminToken = "go-inference-token", "go-admin-token"
	auth := writeFile(t, t.TempDir(), "auth",
		authLine(inferenceToken, "inference", "web")+authLine(adminToken, "admin", "ops"))
	srv := startSecured(t, "--auth-file", auth)
	ctx := func() context.Context { return ctxFor(t, 30*time.Second) }
	wantUnauthenticated := func(t *testing.T, err error) {
		t.Helper()
		wantKind(t, err, ggufd.ErrUnauthenticated, codes.Unauthenticated,
			"UNAUTHENTICATED", ggufd.ErrorCodeUnauthenticated)
	}
	wantAccessDenied := func(t *testing.T, err error) {
		t.Helper()
		wantKind(t, err, ggufd.ErrAccessDenied, codes.PermissionDenied,
			"ACCESS_DENIED", ggufd.ErrorCodeAccessDenied)
	}

	t.Run("AuthLineIsWhatHashTokenPrints", func(t *testing.T) {
		cmd := exec.Command(env.ggufd, "hash-token", "--role", "admin", "--name", "ops")
		cmd.Stdin = strings.NewReader(adminToken)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(out), authLine(adminToken, "admin", "ops"); got != want {
			t.Fatalf("ggufd hash-token printed %q, the test writes %q", got, want)
		}
	})
	t.Run("HealthNeedsNoToken", func(t *testing.T) {
		c := dial(t, srv.Addr())
		st, err := c.Health(ctx(), ggufd.InferenceService)
		if err != nil || st != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Health = %v, %v", st, err)
		}
	})
	t.Run("NoToken", func(t *testing.T) {
		c := dial(t, srv.Addr())
		_, err := c.GenerateText(ctx(), textRequest(prompt, 4))
		wantUnauthenticated(t, err)
		_, err = c.Status(ctx())
		wantUnauthenticated(t, err)
	})
	t.Run("UnknownToken", func(t *testing.T) {
		c := dial(t, srv.Addr(), ggufd.WithToken("not-a-known-token"))
		_, err := c.GenerateText(ctx(), textRequest(prompt, 4))
		wantUnauthenticated(t, err)
	})
	t.Run("InferenceToken", func(t *testing.T) {
		c := dial(t, srv.Addr(), ggufd.WithToken(inferenceToken))
		generateFew(t, c)
		_, err := c.Status(ctx())
		wantAccessDenied(t, err)
		_, err = c.LoadModel(ctx(), modelFile, nil)
		wantAccessDenied(t, err)
	})
	t.Run("AdminToken", func(t *testing.T) {
		c := dial(t, srv.Addr(), ggufd.WithToken(adminToken))
		st, err := c.Status(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if st.GetModel().GetArchitecture() != "llama" {
			t.Errorf("status without the model loaded at start: %v", st)
		}
		generateFew(t, c)
	})
	t.Run("PerCallToken", func(t *testing.T) {
		c := dial(t, srv.Addr())
		if _, err := c.Status(ctx(), grpc.PerRPCCredentials(ggufd.BearerToken(adminToken))); err != nil {
			t.Fatal(err)
		}
		// gRPC sends the connection's token and the call's: two
		// authorization headers, which ggufd refuses.
		withToken := dial(t, srv.Addr(), ggufd.WithToken(inferenceToken))
		_, err := withToken.Status(ctx(), grpc.PerRPCCredentials(ggufd.BearerToken(adminToken)))
		wantUnauthenticated(t, err)
	})
	t.Run("TokenSourceIsAskedForEveryCall", func(t *testing.T) {
		var asked atomic.Int32
		src := ggufd.TokenSource(func(context.Context) (string, error) {
			// The first call gets the inference token, later ones the
			// admin token: a rotation takes effect at the next call.
			if asked.Add(1) == 1 {
				return inferenceToken, nil
			}
			return adminToken, nil
		})
		c := dial(t, srv.Addr(), ggufd.WithTokenSource(src))
		_, err := c.Status(ctx())
		wantAccessDenied(t, err)
		if _, err := c.Status(ctx()); err != nil {
			t.Fatal(err)
		}
		if n := asked.Load(); n != 2 {
			t.Fatalf("the token source was asked %d times for 2 calls", n)
		}
	})
	t.Run("TokenSourceFailure", func(t *testing.T) {
		// The series of refused Tokenize calls: one call without a token
		// adds one, which proves the name before it is used below.
		const series = `ggufd_auth_denials_total{method="Inference/Tokenize",reason="UNAUTHENTICATED"}`
		before := srv.metric(t, series)
		wantUnauthenticated(t, tokenizeHello(t, dial(t, srv.Addr())))
		if after := srv.metric(t, series); after != before+1 {
			t.Fatalf("%s went from %v to %v for one refused call", series, before, after)
		}
		before = srv.metric(t, series)
		c := dial(t, srv.Addr(), ggufd.WithTokenSource(func(context.Context) (string, error) {
			return "", errors.New("vault sealed")
		}))
		err := tokenizeHello(t, c)
		gerr := wantError(t, err, codes.Unauthenticated, "", 0)
		if !errors.Is(err, ggufd.ErrUnauthenticated) || !strings.Contains(gerr.Message, "vault sealed") {
			t.Fatalf("want an unauthenticated error naming the source's failure, got %v", err)
		}
		// The call failed in the client: the server never saw it.
		if after := srv.metric(t, series); after != before {
			t.Fatalf("%s went from %v to %v: the call reached the server", series, before, after)
		}
	})
	t.Run("TokenFile", func(t *testing.T) {
		path := writeFile(t, t.TempDir(), "token", adminToken+"\r\n")
		token, err := ggufd.ReadTokenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, srv.Addr(), ggufd.WithToken(token))
		if _, err := c.Status(ctx()); err != nil {
			t.Fatal(err)
		}
	})
	// gRPC reflection is gRPC's own service: ggufd refuses it without
	// ErrorInfo, and the kinds still follow the status code.
	t.Run("ReflectionRefusedWithoutErrorInfo", func(t *testing.T) {
		call := func(c *ggufd.Client) error {
			stream, err := reflectionpb.NewServerReflectionClient(c.Conn()).ServerReflectionInfo(ctx())
			if err != nil {
				return ggufd.WrapError(err)
			}
			// A refused stream makes Send return io.EOF; Recv has the
			// status.
			if err := stream.Send(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && !errors.Is(err, io.EOF) {
				return ggufd.WrapError(err)
			}
			_, err = stream.Recv()
			return ggufd.WrapError(err)
		}
		wantKind(t, call(dial(t, srv.Addr())), ggufd.ErrUnauthenticated, codes.Unauthenticated, "", 0)
		wantKind(t, call(dial(t, srv.Addr(), ggufd.WithToken(inferenceToken))),
			ggufd.ErrAccessDenied, codes.PermissionDenied, "", 0)
		if err := call(dial(t, srv.Addr(), ggufd.WithToken(adminToken))); err != nil {
			t.Fatalf("reflection with the admin token: %v", err)
		}
	})
}

// Limits refuse with reasons the retry policy does not retry.
func TestLimits(t *testing.T) {
	srv := startSecured(t, "--max-receive-message-bytes", "4096",
		"--max-new-tokens", "8", "--max-prompt-tokens", "64")
	c := dial(t, srv.Addr())
	ctx := func() context.Context { return ctxFor(t, 30*time.Second) }

	// A RESOURCE_EXHAUSTED the default service config would retry, were it
	// not for the server's "grpc-retry-pushback-ms: -1": the counter sees
	// each attempt, so a retry shows as more than one.
	t.Run("MessageTooLargeIsNotRetried", func(t *testing.T) {
		const series = `ggufd_limit_rejections_total{limit="message_bytes"}`
		before := srv.metric(t, series)
		// Above 4096 bytes but below twice that, so ggufd (not gRPC)
		// refuses it, with ErrorInfo.
		_, err := c.GenerateText(ctx(), textRequest(strings.Repeat("once ", 1000), 4))
		wantKind(t, err, ggufd.ErrMessageTooLarge, codes.ResourceExhausted,
			"MESSAGE_TOO_LARGE", ggufd.ErrorCodeMessageTooLarge)
		if after := srv.metric(t, series); after-before != 1 {
			t.Fatalf("%s went from %v to %v for one call: it was retried", series, before, after)
		}
	})
	t.Run("MaxNewTokens", func(t *testing.T) {
		const series = `ggufd_limit_rejections_total{limit="new_tokens"}`
		before := srv.metric(t, series)
		_, err := c.GenerateText(ctx(), textRequest(prompt, 9))
		gerr := wantKind(t, err, ggufd.ErrLimitExceeded, codes.InvalidArgument,
			"LIMIT_EXCEEDED", ggufd.ErrorCodeLimitExceeded)
		if gerr.FieldViolations["stopping.max_tokens"] == "" {
			t.Fatalf("no field violation for stopping.max_tokens: %v", gerr.FieldViolations)
		}
		if after := srv.metric(t, series); after-before != 1 {
			t.Fatalf("%s went from %v to %v for one call", series, before, after)
		}
		r, err := c.GenerateText(ctx(), textRequest(prompt, 8))
		if err != nil || r.Finished.GetUsage().GetCompletionTokens() == 0 {
			t.Fatalf("max_tokens at the limit: %v, %v", r, err)
		}
	})
	t.Run("MaxPromptTokens", func(t *testing.T) {
		ids := make([]int32, 65)
		for i := range ids {
			ids[i] = 100 + int32(i)
		}
		req := textRequest("", 4)
		req.Prompt = &ggufdv1.GenerateRequest_Tokens{Tokens: &ggufdv1.TokenIdList{Ids: ids}}
		_, err := c.GenerateText(ctx(), req)
		gerr := wantKind(t, err, ggufd.ErrLimitExceeded, codes.InvalidArgument,
			"LIMIT_EXCEEDED", ggufd.ErrorCodeLimitExceeded)
		if gerr.FieldViolations["tokens.ids"] == "" {
			t.Fatalf("no field violation for tokens.ids: %v", gerr.FieldViolations)
		}
	})
}
