package ggufd

import (
	"context"
	"errors"
	"io"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// InferenceService is the health-check name that is SERVING only while the
// default runtime has a usable model ("" is the whole server).
const InferenceService = "ggufd.v1.Inference"

// Client talks to one ggufd server. It is safe for concurrent use; Close it
// when done. Its methods act on one runtime instance (see ForRuntime).
type Client struct {
	conn    *grpc.ClientConn
	owner   bool
	runtime string

	inference   ggufdv1.InferenceClient
	runtimes    ggufdv1.RuntimeClient
	diagnostics ggufdv1.DiagnosticsClient
	sessions    ggufdv1.SessionsClient
	health      healthpb.HealthClient
}

// Dial connects to target ("host:port" or any gRPC target). Without options
// the connection is plaintext and uses DefaultServiceConfig; options given
// here come after those defaults and so override them (for example
// WithTLS or grpc.WithTransportCredentials, grpc.WithDefaultServiceConfig,
// or grpc.WithDisableRetry) or add to them (WithToken). Like grpc.NewClient
// it does not wait for the server: the first call connects.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	all := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(DefaultServiceConfig),
	}, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, err
	}
	c := New(conn)
	c.owner = true
	return c, nil
}

// New wraps a connection the caller made and keeps owning (Close leaves it
// open).
func New(conn *grpc.ClientConn) *Client {
	return &Client{
		conn:        conn,
		inference:   ggufdv1.NewInferenceClient(conn),
		runtimes:    ggufdv1.NewRuntimeClient(conn),
		diagnostics: ggufdv1.NewDiagnosticsClient(conn),
		sessions:    ggufdv1.NewSessionsClient(conn),
		health:      healthpb.NewHealthClient(conn),
	}
}

// Close closes the connection if Dial made it.
func (c *Client) Close() error {
	if !c.owner {
		return nil
	}
	return c.conn.Close()
}

// Conn is the underlying connection, for the generated stubs of calls this
// wrapper does not cover (ggufdv1.NewRuntimeClient(c.Conn()), ...).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// ForRuntime returns a client sharing this connection whose calls go to the
// named runtime instance ("" = "default"). Closing it is a no-op.
func (c *Client) ForRuntime(name string) *Client {
	other := *c
	other.owner = false
	other.runtime = name
	return &other
}

// RuntimeName is the runtime instance this client's calls name.
func (c *Client) RuntimeName() string { return c.runtime }

// Tokenize turns text into token ids with the model's own rule for BOS/EOS.
func (c *Client) Tokenize(ctx context.Context, text string, opts ...grpc.CallOption) ([]int32, error) {
	resp, err := c.inference.Tokenize(ctx, &ggufdv1.TokenizeRequest{
		Runtime: c.runtime, Text: text}, opts...)
	if err != nil {
		return nil, wrapError(err)
	}
	return resp.GetIds(), nil
}

// Detokenize turns token ids into text (invalid UTF-8 becomes U+FFFD).
func (c *Client) Detokenize(ctx context.Context, ids []int32, opts ...grpc.CallOption) (string, error) {
	resp, err := c.inference.Detokenize(ctx, &ggufdv1.DetokenizeRequest{
		Runtime: c.runtime, Ids: ids}, opts...)
	if err != nil {
		return "", wrapError(err)
	}
	return resp.GetText(), nil
}

// Cancel stops a queued or running Generate by its request_id, on any
// runtime. found is false when no such request is in flight; state is
// "queued" or "running". The cancelled stream still ends with Finished
// (reason CANCELLED). To cancel your own call, cancelling its context is
// enough; Cancel is for stopping a request from elsewhere.
func (c *Client) Cancel(ctx context.Context, requestID string, opts ...grpc.CallOption) (found bool, state string, err error) {
	resp, err := c.inference.Cancel(ctx, &ggufdv1.CancelRequest{RequestId: requestID}, opts...)
	if err != nil {
		return false, "", wrapError(err)
	}
	return resp.GetFound(), resp.GetState(), nil
}

// LoadModel loads the GGUF file at path (relative to the server's model
// directory) into this client's runtime and returns its description.
// progress, when not nil, is called with each load fraction in [0, 1].
func (c *Client) LoadModel(ctx context.Context, path string, progress func(fraction float64), opts ...grpc.CallOption) (*ggufdv1.ModelInfo, error) {
	return c.LoadModelRequest(ctx, &ggufdv1.LoadModelRequest{Path: path}, progress, opts...)
}

// LoadModelRequest is LoadModel with every option of the request (context
// length, threads, memory limit, the sessions' KV budget). An empty req.Runtime means this client's.
func (c *Client) LoadModelRequest(ctx context.Context, req *ggufdv1.LoadModelRequest, progress func(fraction float64), opts ...grpc.CallOption) (*ggufdv1.ModelInfo, error) {
	if req.GetRuntime() == "" && c.runtime != "" {
		req = cloneWithRuntime(req, c.runtime)
	}
	stream, err := c.runtimes.LoadModel(ctx, req, opts...)
	if err != nil {
		return nil, wrapError(err)
	}
	var info *ggufdv1.ModelInfo
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrapError(err)
		}
		switch e := event.GetEvent().(type) {
		case *ggufdv1.LoadModelEvent_Progress:
			if progress != nil {
				progress(e.Progress.GetFraction())
			}
		case *ggufdv1.LoadModelEvent_Model:
			info = e.Model
		}
	}
	if info == nil {
		return nil, errors.New("ggufd: LoadModel stream ended without the model info")
	}
	return info, nil
}

// Reset clears the runtime's conversation state and a poisoned flag.
func (c *Client) Reset(ctx context.Context, opts ...grpc.CallOption) error {
	_, err := c.runtimes.Reset(ctx, &ggufdv1.ResetRequest{Runtime: c.runtime}, opts...)
	return wrapError(err)
}

// Status is the runtime's latest published status (state, running request,
// queue depth, counters, last error).
func (c *Client) Status(ctx context.Context, opts ...grpc.CallOption) (*ggufdv1.RuntimeStatus, error) {
	st, err := c.diagnostics.GetStatus(ctx, &ggufdv1.GetStatusRequest{Runtime: c.runtime}, opts...)
	return st, wrapError(err)
}

// Health runs grpc.health.v1.Health/Check for service: "" for the server,
// InferenceService for "a model is ready to generate".
func (c *Client) Health(ctx context.Context, service string, opts ...grpc.CallOption) (healthpb.HealthCheckResponse_ServingStatus, error) {
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, opts...)
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN, wrapError(err)
	}
	return resp.GetStatus(), nil
}
