// Package ggufd is a thin Go client for the ggufd gRPC service.
//
// It wraps the stubs generated from proto/ggufd/v1 (package ggufdv1) with the
// few things every caller needs: a connection whose default service config
// retries UNAVAILABLE and RESOURCE_EXHAUSTED, a streaming Generate with a
// text helper, output constraints (Constraint, Grammar, JSONSchema, Regex),
// Embed, sessions (multi-turn conversations the server keeps, see
// Session), and errors that expose ggufd's ErrorInfo reason, numeric error
// code and RetryInfo delay (see Error, and ErrUnauthenticated and the other
// refusal kinds for errors.Is). WithTLS, WithToken and WithTokenSource are
// Dial options for a server with TLS, mTLS or an auth file. Deadlines and
// cancellation are the caller's context. Everything the wrapper does not
// cover is one generated stub away: ggufdv1.NewRuntimeClient(client.Conn()).
package ggufd

// The generated package is not committed; this regenerates it from ../../proto.
//go:generate bash ../gen.sh
