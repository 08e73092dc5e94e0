package ggufd

// DefaultServiceConfig is the service config Dial installs unless the caller
// passes grpc.WithDefaultServiceConfig itself.
//
// Only UNAVAILABLE (a dead worker, a draining server, a lost connection) and
// RESOURCE_EXHAUSTED (a full queue) are retried: ggufd rejects both before
// sending any response header, so the request never ran and a retry cannot
// duplicate work. ggufd's other RESOURCE_EXHAUSTED refusals, a request above
// --max-receive-message-bytes (MESSAGE_TOO_LARGE) or --max-runtimes
// (LIMIT_EXCEEDED), carry the trailer "grpc-retry-pushback-ms: -1", and
// grpc-go does not retry a call the server pushes back that way. Every other
// code is a real answer about the request. gRPC retries a call only until the
// first response header arrives, so a generation that already streamed
// tokens is never replayed.
const DefaultServiceConfig = `{
  "methodConfig": [{
    "name": [
      {"service": "ggufd.v1.Inference"},
      {"service": "ggufd.v1.Runtime"},
      {"service": "ggufd.v1.Diagnostics"},
      {"service": "grpc.health.v1.Health"}
    ],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.2s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]
    }
  }]
}`
