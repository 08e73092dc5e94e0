// `ggufd run`: generate locally from a prompt, streaming the text as it is
// produced (or one JSON object at the end with --json).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"
#include "runtime/runtime.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string prompt;
  int32_t n_predict = 128;
  float temperature = 0.8f;
  uint64_t seed = sampling::kRandomSeed;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int32_t threads = 0;
  int32_t ctx = 0;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  int32_t logprobs = -1;  // -1: off; N >= 0: chosen token + top N
  bool json = false;
  // At most one constraint (runtime/grammar).
  std::string grammar_file;
  std::string json_schema;  // a file, or the schema itself
  std::string regex;
};

// The request's constraint from the flags, or nullopt; an unreadable file
// is an error.
absl::StatusOr<std::optional<Constraint>> ConstraintOf(const RunArgs& args) {
  auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  if (!args.grammar_file.empty()) {
    auto text = read(args.grammar_file);
    if (!text.ok()) return text.status();
    return Constraint{Constraint::Kind::kGrammar, *std::move(text)};
  }
  if (!args.json_schema.empty()) {
    // A file when one of that name exists; else the schema's JSON text.
    std::error_code error;
    if (std::filesystem::is_regular_file(args.json_schema, error)) {
      auto text = read(args.json_schema);
      if (!text.ok()) return text.status();
      return Constraint{Constraint::Kind::kJsonSchema, *std::move(text)};
    }
    return Constraint{Constraint::Kind::kJsonSchema, args.json_schema};
  }
  if (!args.regex.empty()) {
    return Constraint{Constraint::Kind::kRegex, args.regex};
  }
  return std::nullopt;
}

// Prints each token's released text as soon as it arrives, and keeps the
// per-token logprobs for the JSON output.
class PrintingSink : public GenerationSink {
 public:
  explicit PrintingSink(bool quiet) : quiet_(quiet) {}
  void OnStarted(const StartedEvent&) override {}
  void OnProgress(const ProgressEvent&) override {}
  void OnToken(const TokenEvent& event) override {
    nlohmann::json top = nlohmann::json::array();
    for (const TopLogprob& alt : event.top)
      top.push_back({alt.id, alt.logprob});
    logprobs_.push_back({{"id", event.id},
                         {"logprob", event.logprob},
                         {"top", std::move(top)}});
    Write(event.text);
  }
  const nlohmann::json& logprobs() const { return logprobs_; }
  void OnFinished(const FinishedEvent& event) override {
    Write(event.text);
    if (!quiet_) std::fputc('\n', stdout);
  }

 private:
  void Write(const std::string& text) {
    if (quiet_ || text.empty()) return;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  bool quiet_;
  nlohmann::json logprobs_ = nlohmann::json::array();
};

CancelToken* g_cancel = nullptr;

void OnInterrupt(int) {
  if (g_cancel != nullptr) g_cancel->Cancel();
}

nlohmann::json TimingsJson(const Timings& t) {
  return {{"prefill_ms", t.prefill_ms},
          {"first_token_ms", t.first_token_ms},
          {"decode_ms", t.decode_ms},
          {"total_ms", t.total_ms},
          {"prefill_tokens_per_s", t.prefill_tokens_per_s},
          {"decode_tokens_per_s", t.decode_tokens_per_s}};
}

int Run(const RunArgs& args) {
  Runtime runtime;
  if (absl::Status s = runtime.Load(
          args.model, {.context_length = args.ctx, .threads = args.threads});
      !s.ok()) {
    std::fprintf(stderr, "ggufd run: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  GenerateRequest request;
  request.prompt = args.prompt;
  request.parse_special = true;
  request.sampling = {.temperature = args.temperature,
                      .top_k = args.top_k,
                      .top_p = args.top_p,
                      .min_p = args.min_p,
                      .repeat_penalty = args.repeat_penalty,
                      .seed = args.seed};
  if (args.logprobs >= 0) {
    request.logprobs = true;
    request.sampling.top_logprobs = args.logprobs;
  }
  auto constraint = ConstraintOf(args);
  if (!constraint.ok()) {
    std::fprintf(stderr, "ggufd run: %s\n",
                 std::string(constraint.status().message()).c_str());
    return 1;
  }
  request.constraint = *std::move(constraint);
  request.stopping = {.max_tokens = args.n_predict,
                      .stop = args.stop,
                      .ignore_eos = args.ignore_eos};
  CancelToken cancel;
  g_cancel = &cancel;
  std::signal(SIGINT, OnInterrupt);
  PrintingSink sink(/*quiet=*/args.json);
  auto result = runtime.Generate(request, sink, cancel);
  std::signal(SIGINT, SIG_DFL);
  g_cancel = nullptr;
  if (!result.ok()) {
    std::fprintf(stderr, "ggufd run: %s\n",
                 std::string(result.status().message()).c_str());
    return 1;
  }
  const FinishedEvent& f = result->finished;
  if (args.json) {
    nlohmann::json out = {
        {"prompt_ids", result->prompt_ids},
        {"ids", result->ids},
        {"text", result->text},
        {"finish_reason", std::string(FinishReasonName(f.reason))},
        {"seed", result->seed},
        {"usage",
         {{"prompt_tokens", f.usage.prompt_tokens},
          {"cached_tokens", f.usage.cached_tokens},
          {"completion_tokens", f.usage.completion_tokens}}},
        {"timings", TimingsJson(f.timings)}};
    if (request.logprobs) out["logprobs"] = sink.logprobs();
    if (f.end_token >= 0) {
      nlohmann::json end = {{"id", f.end_token}};
      if (request.logprobs) {
        nlohmann::json top = nlohmann::json::array();
        for (const TopLogprob& alt : f.end_top) {
          top.push_back({alt.id, alt.logprob});
        }
        end["logprob"] = f.end_logprob;
        end["top"] = std::move(top);
      }
      out["end_token"] = std::move(end);
    }
    std::cout << out.dump(-1, ' ', false,
                          nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::fprintf(stderr,
                 "[%s] prompt %d tokens %.1f tok/s, generated %d tokens %.1f "
                 "tok/s, seed %llu\n",
                 std::string(FinishReasonName(f.reason)).c_str(),
                 f.usage.prompt_tokens, f.timings.prefill_tokens_per_s,
                 f.usage.completion_tokens, f.timings.decode_tokens_per_s,
                 static_cast<unsigned long long>(result->seed));
  }
  return 0;
}

}  // namespace

void RegisterRunCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate text locally from a prompt");
  auto args = std::make_shared<RunArgs>();
  cmd->add_option("-m,--model", args->model, "GGUF model file")->required();
  cmd->add_option("-p,--prompt", args->prompt,
                  "Prompt text (empty: start from BOS alone)");
  cmd->add_option("-n,--n-predict", args->n_predict,
                  "Most tokens to generate (0: until the context is full)");
  cmd->add_option("--temp", args->temperature, "Temperature (0: greedy)");
  cmd->add_option("--seed", args->seed, "RNG seed (default: random)");
  cmd->add_option("--top-k", args->top_k, "Top-k (0: off)");
  cmd->add_option("--top-p", args->top_p, "Top-p (1: off)");
  cmd->add_option("--min-p", args->min_p, "Min-p (0: off)");
  cmd->add_option("--repeat-penalty", args->repeat_penalty,
                  "Repetition penalty (1: off)");
  cmd->add_option("--threads", args->threads, "Compute threads (0: all cores)");
  cmd->add_option("--ctx", args->ctx,
                  "Context length (0: the model's, capped)");
  cmd->add_option("--stop", args->stop, "Stop string (repeatable)");
  cmd->add_flag("--ignore-eos", args->ignore_eos, "Generate past end-of-text");
  cmd->add_option(
      "--logprobs", args->logprobs,
      "Report each token's logprob and its top N alternatives (JSON)");
  cmd->add_flag("--json", args->json, "Print one JSON object at the end");
  auto* grammar = cmd->add_option(
      "--grammar-file", args->grammar_file,
      "Constrain the output to this GBNF grammar (llama.cpp's format)");
  auto* schema = cmd->add_option(
      "--json-schema", args->json_schema,
      "Constrain the output to JSON valid for this schema (a file, or the "
      "schema's JSON text)");
  auto* regex = cmd->add_option(
      "--regex", args->regex,
      "Constrain the output to text matching this regular expression");
  grammar->excludes(schema)->excludes(regex);
  schema->excludes(regex);
  cmd->callback([args] { ExitCode() = Run(*args); });
}

}  // namespace ggufd::cli
