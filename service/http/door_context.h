// What the HTTP door's routes share: the service they front, the guards of
// the gRPC services, and the count of calls in flight (the drain waits for
// it to reach zero before it closes the port).
#ifndef GGUFD_SERVICE_HTTP_DOOR_CONTEXT_H_
#define GGUFD_SERVICE_HTTP_DOOR_CONTEXT_H_

#include <httplib.h>

#include <atomic>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "service/http/token_speller.h"
#include "service/security/guarded_services.h"
#include "service/service_state.h"

namespace ggufd::http {

// The method each route's calls are counted and logged under.
inline constexpr char kChatCompletionsMethod[] = "OpenAI/ChatCompletions";
inline constexpr char kCompletionsMethod[] = "OpenAI/Completions";
inline constexpr char kEmbeddingsMethod[] = "OpenAI/Embeddings";
inline constexpr char kModelsMethod[] = "OpenAI/Models";
// A path no route serves, and a connection refused before its request was
// read (all connection threads busy).
inline constexpr char kUnroutedMethod[] = "OpenAI/Unrouted";
inline constexpr char kUnreadMethod[] = "OpenAI/Unread";

struct DoorContext {
  ServiceState& state;
  security::Guards& guards;
  TokenSpellers& spellers;
  std::atomic<int> in_flight{0};
};

// Counts one call in flight for as long as it lives.
class InFlight {
 public:
  explicit InFlight(DoorContext& door) : door_(door) { ++door_.in_flight; }
  ~InFlight() { --door_.in_flight; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  DoorContext& door_;
};

// The caller of an HTTP request by its `Authorization: Bearer` header,
// checked by the AccessGuard every gRPC call passes (the same tokens,
// roles, refusal log lines and metrics); `method` names the route in them.
// The body's size was bounded before it was read.
absl::StatusOr<security::Caller> AdmitHttp(DoorContext& door,
                                           const httplib::Request& req,
                                           std::string_view method,
                                           security::Role needed);

// The fields of every HTTP call's "rpc" line besides method and status:
// transport "http", the peer's "address:port" and the answer's status.
nlohmann::json HttpCallFields(std::string peer, int http_status);
// A request's peer as HttpCallFields takes it.
std::string PeerOf(const httplib::Request& req);

// The one "rpc" line (LogRpc) of an HTTP call that ends in the door
// itself, refused or answered without a runtime: HttpCallFields (and the
// path, when the method does not name a route).
void LogHttpCall(DoorContext& door, const httplib::Request& req,
                 std::string_view method, absl::Time start, int http_status,
                 const absl::Status& status);

// The method an HTTP path is logged under ("OpenAI/Embeddings", ...), or
// kUnroutedMethod for a path no route serves.
std::string_view HttpMethodOf(std::string_view path);

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_DOOR_CONTEXT_H_
