// `ggufctl generate` and `ggufctl chat`: stream the answer to stdout as it
// arrives. Ctrl-C cancels the call (the server stops within one token).
// With --session ID the prompt (for chat: the new messages only) continues
// that session on the server. --grammar-file, --json-schema(-file) or
// --regex constrain the output (one of them).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clients/cpp/commands.h"
#include "ggufd/v1/inference.grpc.pb.h"

namespace ggufctl {
namespace {

struct GenerateFlags {
  std::string prompt;
  std::string system;
  std::string chat_template;
  int max_tokens = 256;
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::string request_id;
  std::string session_id;
  bool stats = false;
  // The constraint: at most one is set (the flags exclude each other).
  std::string grammar_file;
  std::optional<std::string> json_schema;
  std::string json_schema_file;
  std::optional<std::string> regex;
};

// Cancels `context` on SIGINT until destroyed.
class InterruptGuard {
 public:
  explicit InterruptGuard(grpc::ClientContext& context)
      : thread_([this, &context] {
          sigset_t set;
          sigemptyset(&set);
          sigaddset(&set, SIGINT);
          const timespec tick{0, 100 * 1000 * 1000};
          while (!done_.load()) {
            if (sigtimedwait(&set, nullptr, &tick) == SIGINT) {
              interrupted_ = true;
              context.TryCancel();
              return;
            }
          }
        }) {}
  ~InterruptGuard() {
    done_ = true;
    thread_.join();
  }
  bool interrupted() const { return interrupted_.load(); }

 private:
  std::atomic<bool> done_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

void ApplyConstraint(const GenerateFlags& flags,
                     ggufd::v1::GenerateRequest& request) {
  if (!flags.grammar_file.empty()) {
    request.mutable_constraint()->set_grammar(ReadFile(flags.grammar_file));
  } else if (flags.json_schema) {
    request.mutable_constraint()->set_json_schema(*flags.json_schema);
  } else if (!flags.json_schema_file.empty()) {
    request.mutable_constraint()->set_json_schema(
        ReadFile(flags.json_schema_file));
  } else if (flags.regex) {
    request.mutable_constraint()->set_regex(*flags.regex);
  }
}

void Apply(const GenerateFlags& flags, ggufd::v1::GenerateRequest& request) {
  request.set_request_id(flags.request_id);
  request.set_session_id(flags.session_id);
  request.mutable_stopping()->set_max_tokens(flags.max_tokens);
  for (const std::string& s : flags.stop) {
    request.mutable_stopping()->mutable_stop()->add_values(s);
  }
  auto* sampling = request.mutable_sampling();
  if (flags.temperature) sampling->set_temperature(*flags.temperature);
  if (flags.top_k) sampling->set_top_k(*flags.top_k);
  if (flags.top_p) sampling->set_top_p(*flags.top_p);
  if (flags.seed) sampling->set_seed(*flags.seed);
  ApplyConstraint(flags, request);
}

int Stream(const Connection& connection,
           const ggufd::v1::GenerateRequest& request, bool stats) {
  auto stub = ggufd::v1::Inference::NewStub(connection.Channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  InterruptGuard guard(context);
  auto reader = stub->Generate(&context, request);
  ggufd::v1::GenerateEvent event;
  ggufd::v1::Started started;
  ggufd::v1::Finished finished;
  bool wrote = false;
  while (reader->Read(&event)) {
    if (event.has_started()) {
      started = event.started();
    } else if (event.has_chunk() && !event.chunk().text().empty()) {
      std::fwrite(event.chunk().text().data(), 1, event.chunk().text().size(),
                  stdout);
      std::fflush(stdout);
      wrote = true;
    } else if (event.has_finished()) {
      finished = event.finished();
    }
  }
  const grpc::Status status = reader->Finish();
  if (wrote) std::fputc('\n', stdout);
  std::fflush(stdout);
  if (guard.interrupted()) return kExitInterrupted;
  if (!status.ok()) return Report(status);
  if (stats) {
    std::fprintf(stderr,
                 "[%s: %d prompt + %d generated tokens, first token %.0f ms, "
                 "%.1f tokens/s]\n",
                 ggufd::v1::FinishReason_Name(finished.reason()).c_str(),
                 finished.usage().prompt_tokens(),
                 finished.usage().completion_tokens(),
                 finished.timings().first_token_ms(),
                 finished.timings().decode_tokens_per_second());
    if (!started.session_id().empty()) {
      std::fprintf(
          stderr,
          "[session %s: %s, %d of %d prompt tokens cached, %d "
          "tokens of history before this turn]\n",
          started.session_id().c_str(),
          ggufd::v1::SessionCache_Name(started.session_cache()).c_str(),
          started.cached_tokens(), started.prompt_tokens(),
          started.session_tokens());
    }
  }
  return finished.reason() == ggufd::v1::FINISH_REASON_CANCELLED
             ? kExitInterrupted
             : kExitOk;
}

// The four ways to give a constraint; a second one is a usage error, not a
// silent choice (the request's oneof holds one).
void AddConstraintFlags(CLI::App* cmd, GenerateFlags& flags) {
  std::vector<CLI::Option*> kinds = {
      cmd->add_option("--grammar-file", flags.grammar_file,
                      "Constrain the output to this GBNF grammar (llama.cpp's "
                      "format, rule root)")
          ->check(CLI::ExistingFile),
      cmd->add_option("--json-schema", flags.json_schema,
                      "Constrain the output to JSON valid under this JSON "
                      "Schema (the schema's text)"),
      cmd->add_option("--json-schema-file", flags.json_schema_file,
                      "As --json-schema, reading the schema from a file")
          ->check(CLI::ExistingFile),
      cmd->add_option("--regex", flags.regex,
                      "Constrain the whole output to match this regular "
                      "expression"),
  };
  // CLI11 records an exclusion on both options.
  for (size_t i = 0; i < kinds.size(); ++i) {
    for (size_t j = i + 1; j < kinds.size(); ++j) kinds[i]->excludes(kinds[j]);
  }
}

void AddSamplingFlags(CLI::App* cmd, GenerateFlags& flags) {
  cmd->add_option("-n,--max-tokens", flags.max_tokens,
                  "Most tokens to generate (0 = until the context is full)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("-t,--temperature", flags.temperature,
                  "Sampling temperature (0 = greedy)");
  cmd->add_option("--top-k", flags.top_k, "Top-k");
  cmd->add_option("--top-p", flags.top_p, "Top-p");
  cmd->add_option("--seed", flags.seed, "RNG seed");
  cmd->add_option("--stop", flags.stop, "Stop string (repeatable)");
  cmd->add_option("--id", flags.request_id, "Request id (for Cancel)");
  cmd->add_option("--session", flags.session_id,
                  "Continue this session (a new id starts one): the prompt "
                  "is appended to its history on the server");
  cmd->add_flag("--stats", flags.stats, "Print usage and speed to stderr");
  AddConstraintFlags(cmd, flags);
}

// "-" reads the prompt from stdin.
std::string PromptText(const std::string& prompt) {
  if (prompt != "-") return prompt;
  return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

}  // namespace

void AddGenerateCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                        int& exit_code) {
  auto flags = std::make_shared<GenerateFlags>();
  auto* cmd = app.add_subcommand("generate", "Continue a text prompt");
  cmd->add_option("prompt", flags->prompt, "Prompt text (\"-\" = stdin)")
      ->required();
  AddSamplingFlags(cmd, *flags);
  cmd->callback([connection, flags, &exit_code] {
    ggufd::v1::GenerateRequest request;
    request.set_runtime(connection->runtime);
    request.set_text(PromptText(flags->prompt));
    Apply(*flags, request);
    exit_code = Stream(*connection, request, flags->stats);
  });
}

void AddChatCommand(CLI::App& app, std::shared_ptr<Connection> connection,
                    int& exit_code) {
  auto flags = std::make_shared<GenerateFlags>();
  auto* cmd = app.add_subcommand(
      "chat", "Answer a user message with the model's chat template");
  cmd->add_option("message", flags->prompt, "User message (\"-\" = stdin)")
      ->required();
  cmd->add_option("--system", flags->system,
                  "System message (with --session: on the first turn only)");
  cmd->add_option("--template", flags->chat_template,
                  "Template family when the model's is not recognized "
                  "(chatml, gemma, llama2, llama3)");
  AddSamplingFlags(cmd, *flags);
  cmd->callback([connection, flags, &exit_code] {
    ggufd::v1::GenerateRequest request;
    request.set_runtime(connection->runtime);
    auto* chat = request.mutable_chat();
    chat->set_template_(flags->chat_template);
    if (!flags->system.empty()) {
      auto* m = chat->add_messages();
      m->set_role("system");
      m->set_content(flags->system);
    }
    auto* m = chat->add_messages();
    m->set_role("user");
    m->set_content(PromptText(flags->prompt));
    Apply(*flags, request);
    exit_code = Stream(*connection, request, flags->stats);
  });
}

}  // namespace ggufctl
