// `ggufd bench`: prefill (pp) and decode (tg) tokens/s of the Runtime, measured
// the way llama-bench measures (bench/runtime_vs_native.sh runs both): pp
// pseudo-random prompt tokens evaluated after `depth` tokens already in the
// KV cache (none by default), then tg greedy single-token steps after the
// same depth; best of R runs after one warm-up.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "runtime/runtime.h"
#include "runtime/tensor/op_profile.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

struct BenchArgs {
  std::string model;
  int32_t pp = 512;
  int32_t tg = 128;
  int32_t threads = 1;
  int32_t repeat = 3;
  int32_t depth = 0;
  bool profile = false;
  bool json = false;
};

// The reference tool's prompt generator (a 32-bit LCG), so both sides
// evaluate the same ids.
std::vector<TokenId> PseudoRandomIds(int32_t count, int32_t n_vocab,
                                     uint32_t seed) {
  std::vector<TokenId> ids;
  uint32_t x = seed;
  for (int32_t i = 0; i < count; ++i) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<TokenId>(x % static_cast<uint32_t>(n_vocab)));
  }
  return ids;
}

class NullSink : public GenerationSink {
 public:
  void OnStarted(const StartedEvent&) override {}
  void OnProgress(const ProgressEvent&) override {}
  void OnToken(const TokenEvent&) override {}
  void OnFinished(const FinishedEvent&) override {}
};

// Seconds one greedy generation takes end to end. With reuse_cache, the
// prompt's prefix that the KV cache holds is not evaluated again.
absl::StatusOr<double> TimeGeneration(Runtime& runtime,
                                      const std::vector<TokenId>& prompt,
                                      int32_t max_tokens,
                                      bool reuse_cache = false) {
  GenerateRequest request;
  request.prompt_ids = prompt;
  request.reuse_cache = reuse_cache;
  request.sampling = {.temperature = 0.0f};
  request.stopping = {.max_tokens = max_tokens, .ignore_eos = true};
  NullSink sink;
  CancelToken cancel;
  const auto start = std::chrono::steady_clock::now();
  auto result = runtime.Generate(request, sink, cancel);
  if (!result.ok()) return result.status();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Time per token of each kind of operation, as a table on stderr (or one
// JSON line on stderr with --json, so stdout stays one object).
void PrintProfile(const char* phase, int32_t tokens, double seconds,
                  const tensor::OpProfile& profile, bool json) {
  const auto entries = profile.Entries();
  if (json) {
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& e : entries) {
      ops.push_back({{"op", e.name},
                     {"ms_per_token", 1e3 * e.seconds / tokens},
                     {"calls", e.calls}});
    }
    std::cerr << nlohmann::json{{"profile", phase},
                                {"tokens", tokens},
                                {"ms_per_token", 1e3 * seconds / tokens},
                                {"ops", ops}}
                     .dump()
              << "\n";
    return;
  }
  std::fprintf(stderr, "\n%s: %d tokens, %.3f ms per token\n", phase, tokens,
               1e3 * seconds / tokens);
  std::fprintf(stderr, "%10s %7s %9s  %s\n", "ms/token", "share", "calls",
               "op");
  double counted = 0;
  for (const auto& e : entries) {
    if (e.name.rfind("thread-pool wait", 0) != 0) counted += e.seconds;
    std::fprintf(stderr, "%10.4f %6.1f%% %9lld  %s\n", 1e3 * e.seconds / tokens,
                 100 * e.seconds / seconds, static_cast<long long>(e.calls),
                 e.name.c_str());
  }
  std::fprintf(stderr, "%10.4f %6.1f%% %9s  %s\n",
               1e3 * (seconds - counted) / tokens,
               100 * (seconds - counted) / seconds, "",
               "not in an op (request setup, the generation loop)");
}

int Bench(const BenchArgs& args) {
  auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "ggufd bench: %s\n", std::string(s.message()).c_str());
    return 1;
  };
  if (args.pp < 1 || args.tg < 1 || args.repeat < 1 || args.depth < 0) {
    return fail(absl::InvalidArgumentError(
        "--pp, --tg and --repeat must be >= 1, --depth >= 0"));
  }
  Runtime runtime;
  if (absl::Status s = runtime.Load(
          args.model,
          {.context_length = args.depth + std::max(args.pp, args.tg) + 8,
           .threads = args.threads});
      !s.ok()) {
    return fail(s);
  }
  auto info = runtime.GetModelInfo();
  if (!info.ok()) return fail(info.status());
  // The context both runs start from (its own seed, so it shares no prefix
  // with the measured tokens by design).
  const std::vector<TokenId> context =
      PseudoRandomIds(args.depth, info->vocab_size, 7);
  auto after_context = [&](const std::vector<TokenId>& ids) {
    std::vector<TokenId> all = context;
    all.insert(all.end(), ids.begin(), ids.end());
    return all;
  };
  const std::vector<TokenId> prompt =
      after_context(PseudoRandomIds(args.pp, info->vocab_size, 42));
  // pp: the prompt plus one sampled token (whose cost is one sampling step);
  // tg: one prompt token, then tg - 1 single-token steps.
  const std::vector<TokenId> first = after_context({prompt[args.depth]});
  // Puts the context into the KV cache (untimed) before a timed run.
  auto fill = [&]() -> absl::Status {
    if (args.depth == 0) return absl::OkStatus();
    return TimeGeneration(runtime, after_context({}), 1, true).status();
  };
  const bool reuse = args.depth > 0;
  double best_pp = std::numeric_limits<double>::infinity();
  double best_tg = best_pp;
  for (int32_t r = 0; r <= args.repeat; ++r) {  // r == 0 warms up
    if (absl::Status s = fill(); !s.ok()) return fail(s);
    auto pp = TimeGeneration(runtime, prompt, 1, reuse);
    if (!pp.ok()) return fail(pp.status());
    if (absl::Status s = fill(); !s.ok()) return fail(s);
    auto tg = TimeGeneration(runtime, first, args.tg, reuse);
    if (!tg.ok()) return fail(tg.status());
    if (r == 0) continue;
    best_pp = std::min(best_pp, *pp);
    best_tg = std::min(best_tg, *tg);
  }
  if (args.profile) {
    // One more of each run with the profile attached, reported per token.
    for (const bool decode : {false, true}) {
      tensor::OpProfile profile;
      if (absl::Status s = fill(); !s.ok()) return fail(s);
      double seconds;
      {
        const tensor::OpProfile::Attachment attach(profile);
        auto run = decode ? TimeGeneration(runtime, first, args.tg, reuse)
                          : TimeGeneration(runtime, prompt, 1, reuse);
        if (!run.ok()) return fail(run.status());
        seconds = *run;
      }
      PrintProfile(decode ? "decode" : "prefill", decode ? args.tg : args.pp,
                   seconds, profile, args.json);
    }
  }
  const double pp_rate = args.pp / best_pp;
  const double tg_rate = args.tg / best_tg;
  if (args.json) {
    std::cout << nlohmann::json{{"model", info->name},
                                {"file_type", info->file_type},
                                {"threads", args.threads},
                                {"pp", args.pp},
                                {"tg", args.tg},
                                {"depth", args.depth},
                                {"pp_tokens_per_s", pp_rate},
                                {"tg_tokens_per_s", tg_rate}}
                     .dump()
              << "\n";
  } else {
    std::printf(
        "%s (%s), %d threads, depth %d: pp%d %.1f tok/s, tg%d %.1f tok/s\n",
        info->name.c_str(), info->file_type.c_str(), args.threads, args.depth,
        args.pp, pp_rate, args.tg, tg_rate);
  }
  return 0;
}

}  // namespace

void RegisterBenchCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prefill and decode speed");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("-m,--model", args->model, "GGUF model file")->required();
  cmd->add_option("--pp", args->pp, "Prompt tokens to evaluate");
  cmd->add_option("--tg", args->tg, "Tokens to generate");
  cmd->add_option("--threads", args->threads, "Compute threads");
  cmd->add_option("--repeat", args->repeat, "Timed runs (best is reported)");
  cmd->add_flag("--profile", args->profile,
                "Also print the time per token of each kind of operation");
  cmd->add_option("--depth", args->depth,
                  "Tokens already in the KV cache before each timed run");
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] { ExitCode() = Bench(*args); });
}

}  // namespace ggufd::cli
