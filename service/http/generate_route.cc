#include "service/http/generate_route.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"
#include "service/generate_call.h"
#include "service/http/bounded_http_server.h"
#include "service/http/http_errors.h"
#include "service/http/openai_response.h"
#include "service/http/stream_waiter.h"
#include "service/rpc_log.h"

namespace ggufd::http {
namespace {

using nlohmann::json;

constexpr char kSessionHeader[] = "x-ggufd-session";

const char* MethodOf(Endpoint endpoint) {
  return endpoint == Endpoint::kChatCompletions ? kChatCompletionsMethod
                                                : kCompletionsMethod;
}

// One call: from the request to the logged end, whichever comes first of
// the answer, an error or the client leaving. Shared by the handler and,
// when streaming, by the content provider that outlives it.
class HttpGenerate : public std::enable_shared_from_this<HttpGenerate> {
 public:
  HttpGenerate(DoorContext& door, Endpoint endpoint, std::string peer)
      : door_(door),
        in_flight_(door),
        endpoint_(endpoint),
        method_(MethodOf(endpoint)),
        extra_(HttpCallFields(std::move(peer), 200)) {}

  ~HttpGenerate() {
    // The response went away unfinished: its connection broke while it
    // was written.
    if (!ended_) {
      if (call_.stream) call_.stream->Cancel();
      End(MakeError(ErrorCode::kCancelled, "the client went away"));
    }
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    auto caller = AdmitHttp(door_, req, method_, security::Role::kInference);
    if (!caller.ok()) return Refuse(res, caller.status(), /*ours=*/false);
    auto body = ParseBody(req.body);
    if (!body.ok()) return Refuse(res, body.status(), /*ours=*/true);
    auto parsed = ToGenerateRequest(endpoint_, *body,
                                    req.get_header_value(kSessionHeader));
    if (!parsed.ok()) return Refuse(res, parsed.status(), /*ours=*/true);
    if (!parsed->user.empty()) extra_["user"] = parsed->user.substr(0, 256);
    const v1::GenerateRequest& request = parsed->request;
    if (absl::Status s = door_.guards.CheckGenerate(method_, *caller, request);
        !s.ok()) {
      return Refuse(res, s, /*ours=*/false);
    }
    // Alternatives are reported by id: the model's pieces spell them.
    TokenSpeller speller;
    if (parsed->top_logprobs > 0) {
      auto spelled = door_.spellers.For(door_.state, request.runtime(),
                                        BoundedHttpServer::ConnectionSocket());
      if (!spelled.ok()) return Refuse(res, spelled.status(), /*ours=*/false);
      speller = std::move(*spelled);
    }
    if (absl::Status s =
            AdmitGenerate(door_.state, request, {.owner = caller->name}, call_);
        !s.ok()) {
      return Refuse(res, s, /*ours=*/false);
    }
    waiter_.emplace(call_.stream, BoundedHttpServer::ConnectionSocket());

    // Nothing is sent until the runtime starts: what refuses the request
    // before is a plain HTTP error.
    std::optional<v1::Started> started;
    while (!started.has_value()) {
      StreamWaiter::Next next = waiter_->Wait();
      if (next.client_gone) return Gone(res);
      if (next.next.finish.has_value()) {
        // Ends before Started only with an error.
        absl::Status s = *next.next.finish;
        if (s.ok()) s = MakeError(ErrorCode::kInternal, "no generation");
        return Refuse(res, s, /*ours=*/false);
      }
      if (next.next.event->has_started()) {
        started = next.next.event->started();
      }
    }
    const std::string& request_id = call_.stream->request_id();
    builder_.emplace(CompletionBuilder::Options{
        .endpoint = endpoint_,
        .id = StrCat(
            endpoint_ == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-",
            request_id),
        .model = call_.runtime,
        .created = absl::ToUnixSeconds(start_),
        .logprobs = parsed->logprobs,
        .include_usage = parsed->include_usage,
        .speller = std::move(speller)});
    res.set_header("x-request-id", request_id);
    if (parsed->stream) return StartStreaming(res);
    Collect(res);
  }

 private:
  // The whole answer as one JSON object.
  void Collect(httplib::Response& res) {
    std::optional<v1::Finished> finished;
    for (;;) {
      StreamWaiter::Next next = waiter_->Wait();
      if (next.client_gone) return Gone(res);
      if (next.next.finish.has_value()) {
        if (!next.next.finish->ok()) {
          return Refuse(res, *next.next.finish, /*ours=*/false);
        }
        break;
      }
      const v1::GenerateEvent& event = *next.next.event;
      if (event.has_chunk()) builder_->Append(event.chunk());
      if (event.has_finished()) finished = event.finished();
    }
    if (!finished.has_value()) {
      return Refuse(res, MakeError(ErrorCode::kInternal, "no Finished event"),
                    /*ours=*/false);
    }
    res.status = 200;
    res.set_content(Dump(builder_->Whole(*finished)), "application/json");
    End(absl::OkStatus());
  }

  void StartStreaming(httplib::Response& res) {
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    // Proxies (nginx) would otherwise hold the events back.
    res.set_header("X-Accel-Buffering", "no");
    std::shared_ptr<HttpGenerate> self = shared_from_this();
    res.set_chunked_content_provider(
        "text/event-stream",
        [self](size_t, httplib::DataSink& sink) { return self->Pump(sink); });
  }

  static bool Send(httplib::DataSink& sink, std::string_view data) {
    const std::string event = StrCat("data: ", data, "\n\n");
    return sink.write(event.data(), event.size());
  }

  // Writes what the stream has next; false ends the response (the client
  // is gone, or the write failed).
  bool Pump(httplib::DataSink& sink) {
    if (!sent_first_) {
      sent_first_ = true;
      std::optional<json> first = builder_->FirstChunk();
      if (first.has_value() && !Send(sink, Dump(*first))) return Broken();
      return true;
    }
    StreamWaiter::Next next = waiter_->Wait();
    if (next.client_gone) return Broken();
    if (next.next.finish.has_value()) {
      const absl::Status& status = *next.next.finish;
      if (status.ok()) {
        // Sent once the worker has published its snapshot, as gRPC's
        // trailers are: a status read after it sees this generation.
        if (!Send(sink, "[DONE]")) return Broken();
      } else {
        // After the start the status line is sent: the error is an event.
        (void)Send(sink, Dump(ToHttpError(status, Param(status)).body));
      }
      sink.done();
      End(status);
      return true;
    }
    const v1::GenerateEvent& event = *next.next.event;
    bool ok = true;
    if (event.has_chunk()) {
      std::optional<json> chunk = builder_->ChunkOf(event.chunk());
      if (chunk.has_value()) ok = Send(sink, Dump(*chunk));
    } else if (event.has_finished()) {
      for (const json& last : builder_->LastChunks(event.finished())) {
        ok = ok && Send(sink, Dump(last));
      }
    }
    return ok ? true : Broken();
  }

  // The client went away while the answer was being written.
  bool Broken() {
    call_.stream->Cancel();
    End(MakeError(ErrorCode::kCancelled, "the client disconnected"));
    return false;
  }

  // The client went away before the answer started.
  void Gone(httplib::Response& res) {
    call_.stream->Cancel();
    const absl::Status status =
        MakeError(ErrorCode::kCancelled, "the client disconnected");
    http_status_ = 499;
    WriteError(res, ToHttpError(status));
    End(status);
  }

  // The OpenAI name of the field a status names: the HTTP door's own
  // errors use them already, the shared path's name ggufd.v1 fields.
  std::optional<std::string> Param(const absl::Status& status) const {
    auto [field, description] = ViolatedField(status);
    if (field.empty()) return std::nullopt;
    return OpenAiParam(endpoint_, field, description);
  }

  void Refuse(httplib::Response& res, const absl::Status& status, bool ours) {
    HttpError error = ToHttpError(status, ours ? std::nullopt : Param(status));
    http_status_ = error.status;
    WriteError(res, error);
    End(status);
  }

  void End(const absl::Status& status) {
    if (ended_) return;
    ended_ = true;
    waiter_.reset();  // detaches from the stream
    if (call_.stream) door_.state.requests->Remove(*call_.stream);
    extra_["http_status"] = http_status_;
    LogRpc(door_.state,
           {.method = method_,
            .runtime = call_.runtime,
            .request_id = call_.stream ? call_.stream->request_id() : "",
            .start = start_,
            .extra = extra_},
           status);
  }

  DoorContext& door_;
  InFlight in_flight_;
  const Endpoint endpoint_;
  const char* const method_;
  const absl::Time start_ = absl::Now();
  json extra_;
  GenerateCall call_;
  std::optional<StreamWaiter> waiter_;
  std::optional<CompletionBuilder> builder_;
  bool sent_first_ = false;
  bool ended_ = false;
  int http_status_ = 200;
};

}  // namespace

void ServeGenerate(DoorContext& door, Endpoint endpoint,
                   const httplib::Request& req, httplib::Response& res) {
  auto call = std::make_shared<HttpGenerate>(door, endpoint, PeerOf(req));
  call->Serve(req, res);
}

}  // namespace ggufd::http
