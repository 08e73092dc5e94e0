#include "service/inference_service.h"

#include <string>
#include <vector>

#include "runtime/common/str_cat.h"
#include "runtime/tokenizer/utf8.h"
#include "service/embed_call.h"
#include "service/generate_reactor.h"
#include "service/orca_load_report.h"
#include "service/proto_convert.h"
#include "service/runtime_call.h"

namespace ggufd {
namespace {

// Longest text Tokenize accepts, and most ids Detokenize accepts.
constexpr size_t kMaxTokenizeBytes = 1 << 20;
constexpr int kMaxDetokenizeIds = 1 << 18;

// Inference/Embed on gRPC: an EmbedCall whose client going away (cancel,
// disconnect, deadline) cancels it, and whose outcome finishes the call
// with the runtime's load report in the trailers.
class EmbedReactor : public grpc::ServerUnaryReactor {
 public:
  EmbedReactor(ServiceState& state, grpc::CallbackServerContext* context,
               const v1::EmbedRequest& request, v1::EmbedResponse* response) {
    call_ = EmbedCall::Start(
        state, request,
        {.caller = state.CallerName(*context),
         .deadline = DeadlineOf(*context)},
        [this, &state, context, response](EmbedOutcome& outcome) {
          if (!outcome.runtime.empty()) {
            AddLoadReport(state, *context, outcome.runtime);
          }
          if (outcome.status.ok()) *response = std::move(outcome.response);
          Finish(ToGrpcStatus(outcome.status));
        });
  }

  void OnCancel() override { call_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<EmbedCall> call_;
};

}  // namespace

grpc::ServerWriteReactor<v1::GenerateEvent>* InferenceService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  return new GenerateReactor(state_, context, *request);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(
    grpc::CallbackServerContext* context, const v1::TokenizeRequest* request,
    v1::TokenizeResponse* response) {
  constexpr char kMethod[] = "Inference/Tokenize";
  if (request->text().size() > kMaxTokenizeBytes) {
    return FinishNow(
        state_, context, kMethod,
        InvalidField("text", StrCat("at most ", kMaxTokenizeBytes, " bytes")));
  }
  TokenizeOptions options{.parse_special = request->parse_special()};
  if (request->has_add_special()) options.add_special = request->add_special();
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "tokenize",
      [text = request->text(), options, response](
          Runtime& runtime, const CommandContext&) -> absl::Status {
        auto ids = runtime.Tokenize(text, options);
        if (!ids.ok()) return ids.status();
        response->mutable_ids()->Assign(ids->begin(), ids->end());
        return absl::OkStatus();
      },
      /*load_report=*/true);
}

grpc::ServerUnaryReactor* InferenceService::Detokenize(
    grpc::CallbackServerContext* context, const v1::DetokenizeRequest* request,
    v1::DetokenizeResponse* response) {
  constexpr char kMethod[] = "Inference/Detokenize";
  if (request->ids_size() > kMaxDetokenizeIds) {
    return FinishNow(
        state_, context, kMethod,
        InvalidField("ids", StrCat("at most ", kMaxDetokenizeIds, " ids")));
  }
  std::vector<TokenId> ids(request->ids().begin(), request->ids().end());
  return RunOnRuntime(
      state_, context, kMethod, request->runtime(), "detokenize",
      [ids = std::move(ids), response](Runtime& runtime,
                                       const CommandContext&) -> absl::Status {
        auto text = runtime.Detokenize(ids);
        if (!text.ok()) return text.status();
        // The same repair as the generation stream's (one U+FFFD per
        // maximal ill-formed subpart, as node-llama-cpp's detokenize).
        response->set_text(tokenizer::SanitizeUtf8(*text));
        response->set_raw(std::move(*text));
        return absl::OkStatus();
      },
      /*load_report=*/true);
}

grpc::ServerUnaryReactor* InferenceService::Embed(
    grpc::CallbackServerContext* context, const v1::EmbedRequest* request,
    v1::EmbedResponse* response) {
  return new EmbedReactor(state_, context, *request, response);
}

grpc::ServerUnaryReactor* InferenceService::Cancel(
    grpc::CallbackServerContext* context, const v1::CancelRequest* request,
    v1::CancelResponse* response) {
  constexpr char kMethod[] = "Inference/Cancel";
  if (!IsValidRequestId(request->request_id())) {
    return FinishNow(
        state_, context, kMethod,
        InvalidField("request_id",
                     "must be 1-128 characters of [A-Za-z0-9._:-]"));
  }
  ToProto(state_.requests->Cancel(request->request_id()), *response);
  return FinishNow(state_, context, kMethod, absl::OkStatus());
}

}  // namespace ggufd
