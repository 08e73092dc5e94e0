#include "service/generate_call.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/chat/chat_template.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/grammar/constraint.h"
#include "runtime/runtime.h"
#include "runtime/session/session.h"
#include "service/proto_convert.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

constexpr int kMaxChatMessages = 1024;
constexpr int32_t kMaxProgressInterval = 1 << 20;

// Runs one generation on the worker thread; returns the status to end the
// stream with (nullopt when the stream has ended already).
std::optional<absl::Status> RunGenerate(Runtime& runtime,
                                        const CommandContext& context,
                                        const GenerateRequest& request,
                                        GenerationStream& stream) {
  if (!stream.BeginRun(context.queue_wait)) {
    return std::nullopt;  // the stream ended before it ran
  }
  auto result = runtime.Generate(request, stream, *stream.cancel_token());
  if (!result.ok()) return WithTaggedFieldViolation(result.status());
  return absl::OkStatus();
}

// The request's constraint, compiled here, at admission (off the runtime's
// thread, and a bad one never queues); errors name its field.
absl::Status ParseConstraint(const v1::Constraint& in, GenerateRequest& out) {
  Constraint constraint;
  switch (in.kind_case()) {
    case v1::Constraint::kGrammar:
      constraint = {Constraint::Kind::kGrammar, in.grammar()};
      break;
    case v1::Constraint::kJsonSchema:
      constraint = {Constraint::Kind::kJsonSchema, in.json_schema()};
      break;
    case v1::Constraint::kRegex:
      constraint = {Constraint::Kind::kRegex, in.regex()};
      break;
    case v1::Constraint::KIND_NOT_SET:
      return InvalidField("constraint",
                          "set one of grammar, json_schema or regex");
  }
  const std::string field(grammar::ConstraintField(constraint.kind));
  if (constraint.text.size() > grammar::kMaxConstraintBytes) {
    return InvalidField(
        field, StrCat("has ", constraint.text.size(), " bytes; at most ",
                      grammar::kMaxConstraintBytes));
  }
  auto compiled = grammar::CompileConstraint(constraint);
  if (!compiled.ok()) return InvalidField(field, compiled.status().message());
  out.constraint = std::move(constraint);
  out.compiled_constraint = *std::move(compiled);
  return absl::OkStatus();
}

// The runtime's whole request, converted once, at admission on the
// caller's thread: the worker only runs it.
absl::StatusOr<GenerateRequest> ParseJob(const v1::GenerateRequest& in) {
  GenerateRequest out;
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
      std::optional<chat::TemplateFamily> family;
      if (!chat.template_().empty()) {
        auto parsed = chat::ParseTemplateFamily(chat.template_());
        if (!parsed.ok()) {
          return InvalidField("chat.template", parsed.status().message());
        }
        family = *parsed;
      }
      ChatPrompt& prompt = out.chat.emplace();
      prompt.add_generation_prompt =
          !chat.has_add_generation_prompt() || chat.add_generation_prompt();
      prompt.family = family;
      for (const v1::ChatMessage& m : chat.messages()) {
        prompt.messages.push_back({.role = m.role(), .content = m.content()});
      }
      break;
    }
    case v1::GenerateRequest::PROMPT_NOT_SET:
      break;
  }
  if (in.has_add_special()) out.add_special = in.add_special();
  out.parse_special = !in.has_parse_special() || in.parse_special();
  out.reuse_cache = !in.has_reuse_cache() || in.reuse_cache();
  if (!in.session_id().empty()) {
    if (absl::Status s =
            session::ValidateSessionId(in.session_id(), "session_id");
        !s.ok()) {
      return InvalidField("session_id", s.message());
    }
    out.session_id = in.session_id();
  }
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
  if (in.has_sampling()) {
    ASSIGN_OR_RETURN(out.sampling, ParseSampling(in.sampling(), "sampling"));
  }
  out.sampling.top_logprobs = output.top_logprobs();
  if (in.has_stopping()) {
    ASSIGN_OR_RETURN(out.stopping, ParseStopping(in.stopping(), "stopping"));
  }
  if (in.has_constraint()) {
    if (absl::Status s = ParseConstraint(in.constraint(), out); !s.ok()) {
      return s;
    }
  }
  return out;
}

}  // namespace

absl::Status AdmitGenerate(ServiceState& state,
                           const v1::GenerateRequest& request,
                           const GenerateCallOptions& options,
                           GenerateCall& call) {
  if (absl::Status s = state.CheckAdmission(); !s.ok()) return s;
  if (!request.request_id().empty() &&
      !IsValidRequestId(request.request_id())) {
    return InvalidField("request_id",
                        "must be 1-128 characters of [A-Za-z0-9._:-]");
  }
  auto job = ParseJob(request);
  if (!job.ok()) return job.status();
  job->max_new_tokens = state.max_new_tokens;
  job->max_prompt_tokens = state.max_prompt_tokens;
  auto worker = state.registry->Find(request.runtime());
  if (!worker.ok()) return worker.status();
  call.runtime = (*worker)->name();

  const v1::OutputOptions& output = request.output();
  auto stream = std::make_shared<GenerationStream>(GenerationStream::Options{
      .request_id = request.request_id().empty()
                        ? ActiveRequests::NewRequestId()
                        : request.request_id(),
      .runtime = call.runtime,
      .session_id = request.session_id(),
      .token_ids = output.token_ids(),
      .token_bytes = output.token_bytes(),
      .logprobs = job->logprobs,
      .metrics = state.metrics});
  if (absl::Status s = state.requests->Add(stream, options.owner); !s.ok()) {
    return s;
  }

  Command command;
  command.operation = "generate";
  command.request_id = stream->request_id();
  command.deadline = options.deadline;
  command.cancel = stream->cancel_token();
  // The worker holds the stream, not the caller: a caller that is gone
  // only means nobody reads the events any more.
  auto ended = std::make_shared<std::optional<absl::Status>>();
  command.run = [stream, job = std::move(*job), ended](
                    Runtime& runtime, const CommandContext& ctx) mutable {
    *ended = RunGenerate(runtime, ctx, job, *stream);
  };
  // The end waits for the snapshot, so a status read after the stream
  // ends sees this generation in the counters.
  command.after = [stream, ended] {
    if (ended->has_value()) stream->Complete(**ended);
  };
  command.drop = [stream](const absl::Status& why) { stream->Complete(why); };
  stream->SetWorker(*worker);  // Cancel withdraws a queued command at once
  if (absl::Status posted = (*worker)->Post(command); !posted.ok()) {
    state.requests->Remove(*stream);
    return posted;
  }
  call.stream = std::move(stream);
  return absl::OkStatus();
}

}  // namespace ggufd
