#include "service/generate_reactor.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/chat/chat_template.h"
#include "runtime/common/str_cat.h"
#include "runtime/runtime.h"
#include "service/proto_convert.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

constexpr char kMethod[] = "Inference/Generate";
constexpr int kMaxChatMessages = 1024;
constexpr int32_t kMaxProgressInterval = 1 << 20;

// Everything the worker needs, copied out of the proto before queueing.
struct GenerateJob {
  GenerateRequest request;  // prompt fields and flags
  std::optional<v1::SamplingParams> sampling;
  std::optional<v1::StoppingParams> stopping;
  int32_t top_logprobs = 0;
  // A chat prompt, formatted on the worker with the model's template.
  bool is_chat = false;
  std::vector<chat::ChatMessage> messages;
  bool add_generation_prompt = true;
  std::optional<chat::TemplateFamily> family;  // requested explicitly
};

// Formats the chat with the requested family or the model's own.
absl::StatusOr<std::string> FormatChatPrompt(Runtime& runtime,
                                             const GenerateJob& job) {
  chat::TemplateFamily family;
  if (job.family.has_value()) {
    family = *job.family;
  } else {
    auto info = runtime.GetModelInfo();
    if (!info.ok()) return info.status();
    auto detected = chat::DetectTemplateFamily(info->chat_template);
    if (!detected.ok()) {
      return InvalidField("chat.template", detected.status().message());
    }
    family = *detected;
  }
  auto text = chat::FormatChat(family, job.messages, job.add_generation_prompt);
  if (!text.ok()) return InvalidField("chat.messages", text.status().message());
  return text;
}

// Runs one generation on the worker thread.
void RunGenerate(Runtime& runtime, const CommandContext& context,
                 GenerateJob& job, GenerationStream& stream) {
  if (!stream.BeginRun(context.queue_wait)) return;  // cancelled meanwhile
  GenerateRequest& request = job.request;
  if (job.sampling.has_value() || job.top_logprobs > 0) {
    sampling::SamplingParams params = runtime.defaults().sampling;
    if (job.sampling.has_value()) ApplySampling(*job.sampling, params);
    params.top_logprobs = job.top_logprobs;
    request.sampling = std::move(params);
  }
  if (job.stopping.has_value()) {
    StoppingParams params = runtime.defaults().stopping;
    ApplyStopping(*job.stopping, params);
    request.stopping = std::move(params);
  }
  if (job.is_chat) {
    auto text = FormatChatPrompt(runtime, job);
    if (!text.ok()) {
      stream.Complete(text.status());
      return;
    }
    request.prompt = std::move(*text);
    request.parse_special = true;
  }
  auto result = runtime.Generate(request, stream, *stream.cancel_token());
  stream.Complete(result.ok() ? absl::OkStatus() : result.status());
}

absl::StatusOr<GenerateJob> ParseJob(const v1::GenerateRequest& in) {
  GenerateJob job;
  GenerateRequest& out = job.request;
  switch (in.prompt_case()) {
    case v1::GenerateRequest::kText:
      out.prompt = in.text();
      break;
    case v1::GenerateRequest::kTokens:
      out.prompt_ids.assign(in.tokens().ids().begin(), in.tokens().ids().end());
      break;
    case v1::GenerateRequest::kChat: {
      const v1::ChatPrompt& chat = in.chat();
      if (chat.messages_size() == 0) {
        return InvalidField("chat.messages", "must not be empty");
      }
      if (chat.messages_size() > kMaxChatMessages) {
        return InvalidField("chat.messages",
                            StrCat("at most ", kMaxChatMessages, " messages"));
      }
      if (!chat.template_().empty()) {
        auto family = chat::ParseTemplateFamily(chat.template_());
        if (!family.ok()) {
          return InvalidField("chat.template", family.status().message());
        }
        job.family = *family;
      }
      job.is_chat = true;
      job.add_generation_prompt =
          !chat.has_add_generation_prompt() || chat.add_generation_prompt();
      for (const v1::ChatMessage& m : chat.messages()) {
        job.messages.push_back({.role = m.role(), .content = m.content()});
      }
      break;
    }
    case v1::GenerateRequest::PROMPT_NOT_SET:
      break;
  }
  if (in.has_add_special()) out.add_special = in.add_special();
  out.parse_special = !in.has_parse_special() || in.parse_special();
  out.reuse_cache = !in.has_reuse_cache() || in.reuse_cache();
  const v1::OutputOptions& output = in.output();
  if (output.top_logprobs() < 0 ||
      output.top_logprobs() > sampling::kMaxTopLogprobs) {
    return InvalidField(
        "output.top_logprobs",
        StrCat("must be in [0, ", sampling::kMaxTopLogprobs, "]"));
  }
  if (output.progress_interval() < 0 ||
      output.progress_interval() > kMaxProgressInterval) {
    return InvalidField("output.progress_interval",
                        StrCat("must be in [0, ", kMaxProgressInterval, "]"));
  }
  out.logprobs = output.logprobs() || output.top_logprobs() > 0;
  out.progress_interval = output.progress_interval();
  job.top_logprobs = output.top_logprobs();
  if (in.has_sampling()) {
    if (absl::Status s = CheckSampling(in.sampling(), "sampling"); !s.ok()) {
      return s;
    }
    job.sampling = in.sampling();
  }
  if (in.has_stopping()) {
    if (absl::Status s = CheckStopping(in.stopping(), "stopping"); !s.ok()) {
      return s;
    }
    job.stopping = in.stopping();
  }
  return job;
}

}  // namespace

GenerateReactor::GenerateReactor(ServiceState& state,
                                 grpc::CallbackServerContext* context,
                                 const v1::GenerateRequest& request)
    : state_(state), context_(context) {
  if (absl::Status admitted = Admit(request); !admitted.ok()) {
    // Nothing was sent yet: the client sees a trailers-only response and may
    // retry safely.
    FinishWith(admitted);
    return;
  }
  Pump();
}

absl::Status GenerateReactor::Admit(const v1::GenerateRequest& request) {
  if (absl::Status s = state_.CheckAdmission(); !s.ok()) return s;
  if (!request.request_id().empty() &&
      !IsValidRequestId(request.request_id())) {
    return InvalidField("request_id",
                        "must be 1-128 characters of [A-Za-z0-9._:-]");
  }
  auto job = ParseJob(request);
  if (!job.ok()) return job.status();
  auto worker = state_.registry->Find(request.runtime());
  if (!worker.ok()) return worker.status();
  runtime_ = (*worker)->name();

  const v1::OutputOptions& output = request.output();
  stream_ = std::make_shared<GenerationStream>(GenerationStream::Options{
      .request_id = request.request_id().empty()
                        ? ActiveRequests::NewRequestId()
                        : request.request_id(),
      .runtime = runtime_,
      .token_ids = output.token_ids(),
      .token_bytes = output.token_bytes(),
      .logprobs = job->request.logprobs,
      .metrics = state_.metrics});
  if (absl::Status s = state_.requests->Add(stream_); !s.ok()) {
    stream_.reset();
    return s;
  }

  Command command;
  command.operation = "generate";
  command.request_id = stream_->request_id();
  command.deadline = DeadlineOf(*context_);
  command.cancel = stream_->cancel_token();
  // The worker holds the stream, not the reactor: a reactor that is gone
  // only means nobody reads the events any more.
  command.run = [stream = stream_, job = std::move(*job)](
                    Runtime& runtime, const CommandContext& ctx) mutable {
    RunGenerate(runtime, ctx, job, *stream);
  };
  command.drop = [stream = stream_](const absl::Status& why) {
    stream->Complete(why);
  };
  if (absl::Status posted = (*worker)->Post(command); !posted.ok()) {
    state_.requests->Remove(*stream_);
    stream_.reset();
    return posted;
  }
  return absl::OkStatus();
}

void GenerateReactor::Pump() {
  GenerationStream::Next next = stream_->TakeOrWait([this] {
    wake_.Schedule(absl::InfinitePast(), [this](bool) { Pump(); });
  });
  if (next.event.has_value()) {
    event_ = std::move(*next.event);
    StartWrite(&event_);
  } else if (next.finish.has_value()) {
    FinishWith(*next.finish);
  }
}

void GenerateReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The client is gone (or the call was cancelled): nobody reads further.
    stream_->Detach();
    FinishWith(MakeError(ErrorCode::kCancelled, "the stream was cancelled"));
    return;
  }
  Pump();
}

void GenerateReactor::OnCancel() {
  // Client cancel, disconnect or deadline: the runtime stops within one
  // token; a request still queued ends at once.
  if (stream_) stream_->Cancel();
}

void GenerateReactor::FinishWith(const absl::Status& status) {
  const grpc::Status grpc_status = ToGrpcStatus(status);
  state_.metrics->CountRequest(kMethod, GrpcCodeName(grpc_status.error_code()));
  nlohmann::json fields = {
      {"method", kMethod},
      {"runtime", runtime_},
      {"code", GrpcCodeName(grpc_status.error_code())},
      {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start_)}};
  if (stream_) fields["request_id"] = stream_->request_id();
  if (!status.ok()) {
    fields["error_code"] = static_cast<int>(GetErrorCode(status));
    fields["error"] = grpc_status.error_message();
  }
  state_.log->Info("rpc", std::move(fields));
  Finish(grpc_status);
}

void GenerateReactor::OnDone() {
  if (stream_) state_.requests->Remove(*stream_);
  delete this;
}

}  // namespace ggufd
