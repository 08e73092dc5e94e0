// POST /v1/embeddings: one EmbedCall (the transport-free Embed that gRPC's
// Inference/Embed runs), waited for on the connection's thread while the
// socket is watched, so a client that leaves cancels it.
#ifndef GGUFD_SERVICE_HTTP_EMBEDDINGS_ROUTE_H_
#define GGUFD_SERVICE_HTTP_EMBEDDINGS_ROUTE_H_

#include <httplib.h>

#include "service/http/door_context.h"

namespace ggufd::http {

void ServeEmbeddings(DoorContext& door, const httplib::Request& req,
                     httplib::Response& res);

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_EMBEDDINGS_ROUTE_H_
