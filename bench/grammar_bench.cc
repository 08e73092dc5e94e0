// Costs of constrained generation's parts on the real SmolLM2 vocabulary
// (49152 tokens) and llama.cpp's json.gbnf, at the worst state for masking
// (inside a JSON string, where almost every token is allowed):
//   - building the vocabulary trie (once per loaded model);
//   - the allowed-token mask from a cold matcher (no state seen before);
//   - the mask with the matcher's transitions warm but the mask not cached;
//   - checking one token (the common case: the sampler's pick is allowed);
//   - accepting one token.
// With --generate, whole generations instead (see RunGenerations).
// bench/grammar_overhead.py puts these next to llama.cpp's.
//
//   grammar_bench [--model=FILE] [benchmark flags]
//   grammar_bench --generate [--model=FILE] [--threads=T] [--repeat=R]
//                 [--temperature=X]  (0: greedy; else seeded sampling)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/gguf/gguf_file.h"
#include "runtime/grammar/gbnf_parser.h"
#include "runtime/grammar/matcher.h"
#include "runtime/grammar/token_trie.h"
#include "runtime/runtime.h"
#include "runtime/tensor/op_profile.h"
#include "runtime/tokenizer/tokenizer.h"

namespace {

using namespace ggufd::grammar;  // NOLINT: a benchmark's own file

std::string g_model =
    std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";

struct Vocab {
  std::vector<std::string> pieces;
  std::vector<bool> eog;
  std::unique_ptr<ggufd::tokenizer::Tokenizer> tok;
};

const Vocab& GetVocab() {
  static const Vocab* vocab = [] {
    auto* v = new Vocab;
    auto file = ggufd::gguf::GgufFile::Open(g_model);
    if (!file.ok()) std::abort();
    auto tok = ggufd::tokenizer::Tokenizer::FromGguf(**file);
    if (!tok.ok()) std::abort();
    v->tok = std::make_unique<ggufd::tokenizer::Tokenizer>(std::move(*tok));
    for (int32_t id = 0; id < v->tok->vocab_size(); ++id) {
      v->pieces.emplace_back(v->tok->TokenToPiece(id, true));
      v->eog.push_back(v->tok->IsEog(id));
    }
    return v;
  }();
  return *vocab;
}

std::shared_ptr<const TokenTrie> GetTrie() {
  static const auto trie = std::make_shared<const TokenTrie>(
      TokenTrie::Build(GetVocab().pieces, GetVocab().eog));
  return trie;
}

std::shared_ptr<const Grammar> JsonGrammar() {
  static const auto grammar = [] {
    std::ifstream in(std::filesystem::path(GGUFD_TESTDATA_DIR) /
                     "llama.cpp-grammars" / "json.gbnf");
    std::stringstream s;
    s << in.rdbuf();
    auto g = ParseGbnf(s.str());
    if (!g.ok()) std::abort();
    return std::make_shared<const Grammar>(std::move(*g));
  }();
  return grammar;
}

// A matcher inside a JSON string value.
std::unique_ptr<Matcher> InString(MatcherLimits limits = {}) {
  auto m = Matcher::Create(JsonGrammar(), GetTrie(), {}, limits);
  if (!m.ok() || !(*m)->AcceptBytes("{\"name\": \"Fel").ok()) std::abort();
  return std::move(*m);
}

void BM_BuildTrie(benchmark::State& state) {
  for (auto _ : state) {
    TokenTrie trie = TokenTrie::Build(GetVocab().pieces, GetVocab().eog);
    benchmark::DoNotOptimize(trie.node_count());
  }
  state.counters["nodes"] = static_cast<double>(GetTrie()->node_count());
}
BENCHMARK(BM_BuildTrie)->Unit(benchmark::kMillisecond);

void BM_MaskCold(benchmark::State& state) {
  size_t allowed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto m = InString();
    state.ResumeTiming();
    auto bits = m->AllowedTokens();
    for (uint64_t w : **bits) allowed = __builtin_popcountll(w);
  }
  benchmark::DoNotOptimize(allowed);
}
BENCHMARK(BM_MaskCold)->Unit(benchmark::kMicrosecond);

void BM_MaskWarmTransitions(benchmark::State& state) {
  // One cached mask only, and two states taken in turn (in a string, and
  // after a backslash in it): each mask is computed again, over transitions
  // already known.
  auto m = InString({.cached_masks = 1});
  bool escape = true;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m->AllowedTokens());
    if (!m->AcceptBytes(escape ? "\\" : "n").ok()) std::abort();
    escape = !escape;
  }
}
BENCHMARK(BM_MaskWarmTransitions)->Unit(benchmark::kMicrosecond);

void BM_AllowsOneToken(benchmark::State& state) {
  auto m = InString();
  const int32_t token =
      GetVocab().tok->Encode(" cat", {.add_special = false}).value().at(0);
  for (auto _ : state) benchmark::DoNotOptimize(m->Allows(token));
}
BENCHMARK(BM_AllowsOneToken)->Unit(benchmark::kNanosecond);

void BM_AcceptOneToken(benchmark::State& state) {
  auto m = InString();
  const int32_t token =
      GetVocab().tok->Encode("ix", {.add_special = false}).value().at(0);
  for (auto _ : state) {
    if (!m->Accept(token).ok()) std::abort();
  }
}
BENCHMARK(BM_AcceptOneToken)->Unit(benchmark::kNanosecond);

// --generate: whole generations on the Runtime, greedy, the same prompt
// with and without a JSON Schema (the constrained run's token count for
// both), alternating, best of R. Besides tokens/s, the time the sampling
// step takes per token (the grammar's checks and masks happen there) is
// read from the op profile: it does not move with machine noise as
// tokens/s do.
class NullSink : public ggufd::GenerationSink {
 public:
  void OnStarted(const ggufd::StartedEvent&) override {}
  void OnProgress(const ggufd::ProgressEvent&) override {}
  void OnToken(const ggufd::TokenEvent&) override {}
  void OnFinished(const ggufd::FinishedEvent&) override {}
};

struct GenerationRun {
  int tokens = 0;
  double decode_tokens_per_s = 0;
  double sampling_ms_per_token = 0;
};

GenerationRun Generate(ggufd::Runtime& runtime, bool constrained,
                       int max_tokens, float temperature) {
  static const char kSchema[] =
      R"({"type": "array", "minItems": 6, "maxItems": 6, "items": {
          "type": "object", "required": ["name", "age", "city"],
          "properties": {"name": {"type": "string"},
                         "age": {"type": "integer", "minimum": 0,
                                 "maximum": 120},
                         "city": {"type": "string"}}}})";
  ggufd::GenerateRequest request;
  request.prompt =
      "<|im_start|>user\nList six people as a JSON array of objects with "
      "name, age and city.<|im_end|>\n<|im_start|>assistant\n";
  request.reuse_cache = false;
  request.sampling = {.temperature = temperature, .seed = 1234};
  request.stopping = {.max_tokens = max_tokens, .ignore_eos = !constrained};
  if (constrained) {
    request.constraint =
        ggufd::Constraint{ggufd::Constraint::Kind::kJsonSchema, kSchema};
  }
  NullSink sink;
  ggufd::CancelToken cancel;
  ggufd::tensor::OpProfile profile;
  absl::StatusOr<ggufd::GenerationResult> result;
  {
    const ggufd::tensor::OpProfile::Attachment attach(profile);
    result = runtime.Generate(request, sink, cancel);
  }
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(result.status().message()).c_str());
    std::exit(1);
  }
  GenerationRun run;
  run.tokens = static_cast<int>(result->ids.size());
  run.decode_tokens_per_s = result->finished.timings.decode_tokens_per_s;
  for (const auto& e : profile.Entries()) {
    if (e.name == "sampling") {
      run.sampling_ms_per_token = e.seconds * 1000 / std::max(1, run.tokens);
    }
  }
  return run;
}

int RunGenerations(int threads, int repeat, float temperature) {
  ggufd::Runtime runtime;
  if (!runtime.Load(g_model, {.threads = threads}).ok()) return 1;
  GenerationRun best_c, best_u;
  const int tokens = Generate(runtime, true, 512, temperature).tokens;
  Generate(runtime, false, tokens, temperature);  // warm-ups
  for (int r = 0; r < repeat; ++r) {
    const GenerationRun c = Generate(runtime, true, 512, temperature);
    const GenerationRun u = Generate(runtime, false, c.tokens, temperature);
    if (c.decode_tokens_per_s > best_c.decode_tokens_per_s) best_c = c;
    if (u.decode_tokens_per_s > best_u.decode_tokens_per_s) best_u = u;
  }
  const double per_token_ms = 1000.0 / best_u.decode_tokens_per_s;
  const double cost_ms =
      best_c.sampling_ms_per_token - best_u.sampling_ms_per_token;
  std::printf(
      "{\"threads\": %d, \"temperature\": %.2f, \"tokens\": %d, "
      "\"unconstrained_tokens_per_s\": "
      "%.1f, \"constrained_tokens_per_s\": %.1f, "
      "\"sampling_ms_per_token_unconstrained\": %.4f, "
      "\"sampling_ms_per_token_constrained\": %.4f, "
      "\"constraint_share_of_decode\": %.4f}\n",
      threads, temperature, best_c.tokens, best_u.decode_tokens_per_s,
      best_c.decode_tokens_per_s, best_u.sampling_ms_per_token,
      best_c.sampling_ms_per_token, cost_ms / per_token_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool generate = false;
  int threads = 1;
  int repeat = 3;
  float temperature = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--model=", 8) == 0) g_model = argv[i] + 8;
    if (std::strcmp(argv[i], "--generate") == 0) generate = true;
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
    }
    if (std::strncmp(argv[i], "--repeat=", 9) == 0) {
      repeat = std::atoi(argv[i] + 9);
    }
    if (std::strncmp(argv[i], "--temperature=", 14) == 0) {
      temperature = std::strtof(argv[i] + 14, nullptr);
    }
  }
  if (generate) return RunGenerations(threads, repeat, temperature);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
