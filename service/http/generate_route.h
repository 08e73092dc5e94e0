// POST /v1/chat/completions and /v1/completions: one Generate through the
// shared path (AdmitHttp, Guards::CheckGenerate, AdmitGenerate), read from
// its GenerationStream on the connection's thread.
//
// Nothing is sent before the runtime starts the generation (Started), so
// everything that refuses it — a full queue (429 + Retry-After), a prompt
// beyond the context, no model — is a plain HTTP error. Then the answer is
// one JSON object, or server-sent events: `data: {chunk}` per piece of text,
// the finish reason, the usage when stream_options.include_usage, and
// `data: [DONE]` once the call ends (after the worker published its
// snapshot, as gRPC's trailers wait for it); an error after the start is one
// `data: {"error": ...}`.
// A client that closes its connection (seen by polling the socket while
// waiting for the runtime) cancels the generation within one token.
#ifndef GGUFD_SERVICE_HTTP_GENERATE_ROUTE_H_
#define GGUFD_SERVICE_HTTP_GENERATE_ROUTE_H_

#include <httplib.h>

#include "service/http/door_context.h"
#include "service/http/openai_request.h"

namespace ggufd::http {

void ServeGenerate(DoorContext& door, Endpoint endpoint,
                   const httplib::Request& req, httplib::Response& res);

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_GENERATE_ROUTE_H_
