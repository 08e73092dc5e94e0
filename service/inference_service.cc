#include "service/inference_service.h"

#include <string>
#include <vector>

#include "runtime/common/str_cat.h"
#include "service/generate_reactor.h"
#include "service/runtime_call.h"

namespace ggufd {
namespace {

// Longest text Tokenize accepts, and most ids Detokenize accepts.
constexpr size_t kMaxTokenizeBytes = 1 << 20;
constexpr int kMaxDetokenizeIds = 1 << 18;

// `bytes` as valid UTF-8, each invalid byte replaced by U+FFFD.
std::string ValidUtf8(const std::string& bytes) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= bytes.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len > 1) {
      // Reject overlong forms, surrogates and code points past U+10FFFF.
      uint32_t cp = c & (0xFF >> (len + 1));
      for (size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(bytes[i + k]) & 0x3F);
      }
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(bytes, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

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
      });
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
        response->set_text(ValidUtf8(*text));
        response->set_raw(std::move(*text));
        return absl::OkStatus();
      });
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
  switch (state_.requests->Cancel(request->request_id())) {
    case GenerationStream::CancelResult::kNotFound:
      response->set_found(false);
      break;
    case GenerationStream::CancelResult::kQueued:
      response->set_found(true);
      response->set_state("queued");
      break;
    case GenerationStream::CancelResult::kRunning:
      response->set_found(true);
      response->set_state("running");
      break;
  }
  return FinishNow(state_, context, kMethod, absl::OkStatus());
}

}  // namespace ggufd
