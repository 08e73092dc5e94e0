#include "service/http/embeddings_route.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "service/embed_call.h"
#include "service/http/bounded_http_server.h"
#include "service/http/http_errors.h"
#include "service/http/openai_request.h"
#include "service/http/stream_waiter.h"

namespace ggufd::http {
namespace {

using nlohmann::json;

// The outcome, handed from whichever thread ends the call to the
// connection's thread. Shared, so a late hand-off never writes into
// something gone.
class Outcome {
 public:
  Outcome() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Outcome() {
    if (fd_ >= 0) close(fd_);
  }

  void Set(EmbedOutcome& outcome) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      outcome_ = std::move(outcome);
    }
    const uint64_t one = 1;
    (void)!write(fd_, &one, sizeof(one));
  }

  // Waits for the outcome; nullopt when the client went away first.
  std::optional<EmbedOutcome> Wait(int socket, bool watch) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (outcome_.has_value()) return std::move(outcome_);
      }
      if (watch && PeerClosed(socket)) return std::nullopt;
      pollfd fds[2] = {{.fd = fd_, .events = POLLIN, .revents = 0},
                       {.fd = socket, .events = POLLRDHUP, .revents = 0}};
      (void)poll(fds, watch && socket >= 0 ? 2 : 1, -1);
      uint64_t count = 0;
      (void)!read(fd_, &count, sizeof(count));
    }
  }

 private:
  const int fd_;
  std::mutex mu_;
  std::optional<EmbedOutcome> outcome_;
};

// OpenAI's base64 encoding: the little-endian float32 bytes.
std::string Base64Of(const v1::Embedding& embedding) {
  std::string bytes(static_cast<size_t>(embedding.values_size()) * 4, '\0');
  for (int i = 0; i < embedding.values_size(); ++i) {
    const float v = embedding.values(i);
    std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
  }
  return absl::Base64Escape(bytes);
}

// The OpenAI name of an EmbedRequest field ("texts[2]" -> "input").
std::optional<std::string> EmbedParam(const absl::Status& status) {
  auto [field, description] = ViolatedField(status);
  if (field.empty()) return std::nullopt;
  if (field.rfind("texts", 0) == 0) return "input" + field.substr(5);
  return field;
}

}  // namespace

void ServeEmbeddings(DoorContext& door, const httplib::Request& req,
                     httplib::Response& res) {
  InFlight in_flight(door);
  const absl::Time start = absl::Now();
  // Refused before an EmbedCall exists (which logs its own rpc line).
  auto refuse = [&](const absl::Status& status, bool ours) {
    const HttpError error =
        ToHttpError(status, ours ? std::nullopt : EmbedParam(status));
    WriteError(res, error);
    LogHttpCall(door, req, kEmbeddingsMethod, start, error.status, status);
  };
  auto caller =
      AdmitHttp(door, req, kEmbeddingsMethod, security::Role::kInference);
  if (!caller.ok()) return refuse(caller.status(), false);
  auto body = ParseBody(req.body);
  if (!body.ok()) return refuse(body.status(), true);
  auto parsed = ToEmbedRequest(*body);
  if (!parsed.ok()) return refuse(parsed.status(), true);

  auto outcome = std::make_shared<Outcome>();
  std::shared_ptr<EmbedCall> call = EmbedCall::Start(
      door.state, parsed->request,
      {.method = kEmbeddingsMethod, .caller = caller->name},
      [outcome](EmbedOutcome& result) { outcome->Set(result); });
  const int socket = BoundedHttpServer::ConnectionSocket();
  std::optional<EmbedOutcome> result = outcome->Wait(socket, true);
  if (!result.has_value()) {
    // The client left: cancel, and wait for the call to end (soon: a
    // queued call at once, a running one before its next batch).
    call->Cancel();
    result = outcome->Wait(socket, false);
  }
  if (!result->status.ok()) {
    WriteError(res, ToHttpError(result->status, EmbedParam(result->status)));
    return;
  }
  const v1::EmbedResponse& response = result->response;
  json data = json::array();
  for (int i = 0; i < response.embeddings_size(); ++i) {
    const v1::Embedding& e = response.embeddings(i);
    json embedding;
    if (parsed->base64) {
      embedding = Base64Of(e);
    } else {
      embedding = json::array();
      for (float v : e.values()) embedding.push_back(v);
    }
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", std::move(embedding)}});
  }
  const json answer = {{"object", "list"},
                       {"data", std::move(data)},
                       {"model", result->runtime},
                       {"usage",
                        {{"prompt_tokens", response.prompt_tokens()},
                         {"total_tokens", response.prompt_tokens()}}}};
  res.set_header("x-request-id", result->request_id);
  res.set_content(Dump(answer), "application/json");
}

}  // namespace ggufd::http
