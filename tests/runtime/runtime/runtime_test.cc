// The Runtime owner's operations on a real model (stories260K, F32): error
// codes, poisoning and recovery, atomic loads, stopping rules, cancellation,
// cache reuse, determinism and the streamed events.
#include "runtime/runtime.h"

#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ggufd {
namespace {

using ::testing::ElementsAreArray;

const std::string kStories =
    std::string(GGUFD_TESTDATA_DIR) + "/models/stories260K.gguf";

std::vector<TokenId> GoldenIds() {
  std::ifstream in(std::string(GGUFD_TESTDATA_DIR) +
                   "/models/stories260K.greedy.json");
  return nlohmann::json::parse(in)["generated_ids"].get<std::vector<TokenId>>();
}

// Records every event; optionally cancels after `cancel_after` tokens.
class RecordingSink : public GenerationSink {
 public:
  explicit RecordingSink(CancelToken* cancel = nullptr, int cancel_after = -1)
      : cancel_(cancel), cancel_after_(cancel_after) {}
  void OnStarted(const StartedEvent& e) override {
    started.push_back(e);
    order += 'S';
  }
  void OnProgress(const ProgressEvent& e) override {
    progress.push_back(e);
    order += 'P';
  }
  void OnToken(const TokenEvent& e) override {
    tokens.push_back(e);
    text += e.text;
    order += 'T';
    if (cancel_ != nullptr &&
        static_cast<int>(tokens.size()) == cancel_after_) {
      cancel_->Cancel();
    }
  }
  void OnFinished(const FinishedEvent& e) override {
    finished.push_back(e);
    text += e.text;
    order += 'F';
  }

  std::vector<StartedEvent> started;
  std::vector<ProgressEvent> progress;
  std::vector<TokenEvent> tokens;
  std::vector<FinishedEvent> finished;
  std::string text;
  std::string order;

 private:
  CancelToken* cancel_;
  int cancel_after_;
};

GenerateRequest Greedy(int max_tokens, std::string prompt = "") {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.sampling = sampling::SamplingOverrides{.temperature = 0.0f};
  r.stopping = StoppingOverrides{.max_tokens = max_tokens};
  return r;
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(runtime_.Load(kStories, {.threads = 1}).ok());
  }
  absl::StatusOr<GenerationResult> Run(const GenerateRequest& r,
                                       RecordingSink& sink) {
    return runtime_.Generate(r, sink, cancel_);
  }
  Runtime runtime_;
  CancelToken cancel_;
};

TEST_F(RuntimeTest, GreedyFromBosMatchesTheGoldenIds) {
  RecordingSink sink;
  auto result = Run(Greedy(100), sink);
  ASSERT_TRUE(result.ok()) << result.status();
  const auto golden = GoldenIds();
  EXPECT_THAT(result->ids,
              ElementsAreArray(golden.begin(), golden.begin() + 100));
  EXPECT_THAT(result->prompt_ids, ElementsAreArray({1}));
  EXPECT_EQ(result->finished.reason, FinishReason::kMaxTokens);
  EXPECT_EQ(result->finished.usage.completion_tokens, 100);
  // One Started, one token event per id, one Finished, in that order.
  EXPECT_EQ(sink.order, "S" + std::string(100, 'T') + "F");
  EXPECT_EQ(sink.text, result->text);
  EXPECT_EQ(result->text.rfind(" Once upon a time", 0), 0u) << result->text;
}

TEST_F(RuntimeTest, SameSeedSameTokensAcrossRunsAndThreadCounts) {
  GenerateRequest r = Greedy(60, "Once upon a time");
  r.sampling = sampling::SamplingOverrides{.temperature = 1.0f, .seed = 1234};
  RecordingSink a, b;
  auto first = Run(r, a);
  auto second = Run(r, b);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->ids, second->ids);
  EXPECT_EQ(first->seed, 1234u);

  Runtime two_threads;
  ASSERT_TRUE(two_threads.Load(kStories, {.threads = 2}).ok());
  RecordingSink c;
  CancelToken cancel;
  auto third = two_threads.Generate(r, c, cancel);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(first->ids, third->ids);

  r.sampling.seed = 99;
  RecordingSink d;
  auto other = Run(r, d);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(first->ids, other->ids);
}

TEST_F(RuntimeTest, NoModelAndMissingFileCarryTheirCodes) {
  Runtime empty;
  RecordingSink sink;
  CancelToken cancel;
  auto result = empty.Generate(Greedy(4), sink, cancel);
  EXPECT_EQ(GetErrorCode(result.status()), ErrorCode::kNoModel);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorCode(empty.Load("/nonexistent.gguf", {})),
            ErrorCode::kModelNotFound);
  EXPECT_TRUE(sink.order.empty());
}

TEST_F(RuntimeTest, FailedLoadKeepsTheOldModel) {
  const std::string bad =
      std::string(GGUFD_TESTDATA_DIR) + "/nonconforming/test_writer.gguf";
  absl::Status s = runtime_.Load(bad, {});
  EXPECT_EQ(GetErrorCode(s), ErrorCode::kInvalidModel) << s;
  const std::string vocab_only = std::string(GGUFD_TESTDATA_DIR) +
                                 "/llama.cpp-vocab/ggml-vocab-gpt-2.gguf";
  EXPECT_FALSE(runtime_.Load(vocab_only, {}).ok());
  auto info = runtime_.GetModelInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->architecture, "llama");
  RecordingSink sink;
  auto result = Run(Greedy(10), sink);
  ASSERT_TRUE(result.ok());
  const auto golden = GoldenIds();
  EXPECT_THAT(result->ids,
              ElementsAreArray(golden.begin(), golden.begin() + 10));
}

TEST_F(RuntimeTest, FailureHalfWayPoisonsUntilReset) {
  runtime_.InjectFailureForTesting();
  RecordingSink sink;
  auto failed = Run(Greedy(5), sink);
  EXPECT_EQ(GetErrorCode(failed.status()), ErrorCode::kGenerationFailed);
  EXPECT_EQ(static_cast<int>(GetErrorCode(failed.status())), 13);
  EXPECT_TRUE(runtime_.GetDiagnostics().poisoned);
  // Everything that touches the model now answers 13.
  RecordingSink again;
  EXPECT_EQ(GetErrorCode(Run(Greedy(5), again).status()),
            ErrorCode::kGenerationFailed);
  EXPECT_EQ(GetErrorCode(runtime_.Tokenize("x", {}).status()),
            ErrorCode::kGenerationFailed);
  EXPECT_EQ(GetErrorCode(runtime_.Configure({})), ErrorCode::kGenerationFailed);
  ASSERT_TRUE(runtime_.Reset().ok());
  EXPECT_FALSE(runtime_.GetDiagnostics().poisoned);
  RecordingSink ok;
  auto recovered = Run(Greedy(5), ok);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(recovered->ids.size(), 5u);
}

TEST_F(RuntimeTest, ReleaseClearsPoisonAndTheModel) {
  runtime_.InjectFailureForTesting();
  RecordingSink sink;
  EXPECT_FALSE(Run(Greedy(5), sink).ok());
  ASSERT_TRUE(runtime_.Release().ok());
  RecordingSink after;
  EXPECT_EQ(GetErrorCode(Run(Greedy(5), after).status()), ErrorCode::kNoModel);
}

TEST_F(RuntimeTest, InvalidRequestsFailCleanlyWithoutPoisoning) {
  GenerateRequest bad_ids;
  bad_ids.prompt_ids = {1, 100000};
  RecordingSink s1;
  EXPECT_EQ(GetErrorCode(Run(bad_ids, s1).status()),
            ErrorCode::kInvalidArgument);
  GenerateRequest bad_temp = Greedy(4);
  bad_temp.sampling.temperature = std::nanf("");
  RecordingSink s2;
  EXPECT_EQ(GetErrorCode(Run(bad_temp, s2).status()),
            ErrorCode::kInvalidArgument);
  GenerateRequest bad_stop = Greedy(4);
  bad_stop.stopping.max_tokens = -1;
  RecordingSink s3;
  EXPECT_EQ(GetErrorCode(Run(bad_stop, s3).status()),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(s1.order.empty() && s2.order.empty() && s3.order.empty());
  EXPECT_FALSE(runtime_.GetDiagnostics().poisoned);
  EXPECT_EQ(GetErrorCode(runtime_.Configure({.sampling = {.top_p = 2.0f}})),
            ErrorCode::kInvalidArgument);
}

TEST_F(RuntimeTest, PromptLongerThanTheContextIsRefused) {
  Runtime small;
  ASSERT_TRUE(small.Load(kStories, {.context_length = 16}).ok());
  GenerateRequest r = Greedy(4);
  r.prompt_ids.assign(16, 5);
  RecordingSink sink;
  CancelToken cancel;
  auto result = small.Generate(r, sink, cancel);
  EXPECT_EQ(GetErrorCode(result.status()), ErrorCode::kContextOverflow);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(RuntimeTest, GenerationStopsWhenTheContextIsFull) {
  Runtime small;
  ASSERT_TRUE(small.Load(kStories, {.context_length = 16}).ok());
  RecordingSink sink;
  CancelToken cancel;
  auto result = small.Generate(Greedy(0), sink, cancel);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->finished.reason, FinishReason::kContextFull);
  EXPECT_EQ(result->ids.size(), 16u);  // 1 prompt + 15 evaluated + the last
  EXPECT_EQ(small.GetDiagnostics().kv_tokens_used, 16);
}

TEST_F(RuntimeTest, StopStringEndsGenerationAndIsNotEmitted) {
  RecordingSink plain;
  auto full = Run(Greedy(40), plain);
  ASSERT_TRUE(full.ok());
  const size_t at = full->text.find("Lily");
  ASSERT_NE(at, std::string::npos) << full->text;
  GenerateRequest r = Greedy(40);
  r.stopping.stop = {"Lily"};
  RecordingSink sink;
  auto stopped = Run(r, sink);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->finished.reason, FinishReason::kStopSequence);
  EXPECT_EQ(stopped->finished.stop_sequence, "Lily");
  EXPECT_EQ(stopped->text, full->text.substr(0, at));
  EXPECT_EQ(sink.text, stopped->text);
}

TEST_F(RuntimeTest, StopTokenIdEndsGeneration) {
  const auto golden = GoldenIds();
  GenerateRequest r = Greedy(40);
  r.stopping.stop_token_ids = {golden[5]};
  RecordingSink sink;
  auto result = Run(r, sink);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->finished.reason, FinishReason::kStopToken);
  EXPECT_EQ(result->finished.end_token, golden[5]);
  EXPECT_THAT(result->ids,
              ElementsAreArray(golden.begin(), golden.begin() + 5));
}

TEST_F(RuntimeTest, CancelStopsWithinOneToken) {
  CancelToken cancel;
  RecordingSink sink(&cancel, /*cancel_after=*/3);
  auto result = runtime_.Generate(Greedy(50), sink, cancel);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->finished.reason, FinishReason::kCancelled);
  EXPECT_EQ(result->ids.size(), 3u);
  EXPECT_EQ(sink.finished.size(), 1u);
  // The runtime is free and healthy afterwards.
  RecordingSink next;
  EXPECT_TRUE(Run(Greedy(3), next).ok());
  EXPECT_EQ(runtime_.GetDiagnostics().counters.generations_cancelled, 1u);
}

TEST_F(RuntimeTest, CancelledBeforePrefillRunsNothing) {
  CancelToken cancel;
  cancel.Cancel();
  RecordingSink sink;
  auto result = runtime_.Generate(Greedy(10, "Once upon a time"), sink, cancel);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->finished.reason, FinishReason::kCancelled);
  EXPECT_TRUE(result->ids.empty());
}

TEST_F(RuntimeTest, SecondGenerationReusesTheCachedPrefix) {
  const std::string prompt = "Once upon a time there was a cat";
  RecordingSink a, b;
  auto first = Run(Greedy(8, prompt), a);
  auto second = Run(Greedy(8, prompt), b);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->finished.usage.cached_tokens, 0);
  EXPECT_EQ(second->finished.usage.cached_tokens,
            static_cast<int32_t>(second->prompt_ids.size()) - 1);
  EXPECT_EQ(first->ids, second->ids);
  GenerateRequest no_reuse = Greedy(8, prompt);
  no_reuse.reuse_cache = false;
  RecordingSink c;
  auto third = Run(no_reuse, c);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->finished.usage.cached_tokens, 0);
  EXPECT_EQ(first->ids, third->ids);
}

TEST_F(RuntimeTest, LogprobsDescribeTheChosenToken) {
  GenerateRequest r = Greedy(5);
  r.logprobs = true;
  r.sampling.top_logprobs = 5;
  RecordingSink sink;
  auto result = Run(r, sink);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(sink.tokens.size(), 5u);
  for (const TokenEvent& t : sink.tokens) {
    ASSERT_EQ(t.top.size(), 5u);
    EXPECT_EQ(t.top[0].id, t.id);  // greedy picks the most likely
    EXPECT_FLOAT_EQ(t.top[0].logprob, t.logprob);
    EXPECT_LE(t.logprob, 0.0f);
    for (size_t i = 1; i < t.top.size(); ++i) {
      EXPECT_GE(t.top[i - 1].logprob, t.top[i].logprob);
    }
  }
}

TEST_F(RuntimeTest, ConfiguredDefaultsApplyAndRequestsOverrideThem) {
  ASSERT_TRUE(runtime_
                  .Configure({.sampling = {.temperature = 0.0f},
                              .stopping = {.max_tokens = 7}})
                  .ok());
  RecordingSink sink;
  auto result = Run(GenerateRequest{}, sink);
  ASSERT_TRUE(result.ok());
  const auto golden = GoldenIds();
  EXPECT_THAT(result->ids,
              ElementsAreArray(golden.begin(), golden.begin() + 7));
  GenerateRequest override_stop;
  override_stop.stopping = StoppingOverrides{.max_tokens = 2};
  RecordingSink other;
  auto shorter = Run(override_stop, other);
  ASSERT_TRUE(shorter.ok());
  EXPECT_EQ(shorter->ids.size(), 2u);
}

TEST_F(RuntimeTest, OverridesApplyFieldByFieldOverTheDefaults) {
  const auto golden = GoldenIds();
  ASSERT_TRUE(runtime_
                  .Configure({.sampling = {.temperature = 0.0f},
                              .stopping = {.max_tokens = 7}})
                  .ok());
  // A second Configure changes only what it sets.
  GenerationOverrides stop_ids;
  stop_ids.stopping.stop_token_ids = std::vector<TokenId>{golden[3]};
  ASSERT_TRUE(runtime_.Configure(stop_ids).ok());
  EXPECT_EQ(runtime_.defaults().sampling.temperature, 0.0f);
  EXPECT_EQ(runtime_.defaults().stopping.max_tokens, 7);
  EXPECT_EQ(runtime_.defaults().sampling.top_k, 40);  // built in, untouched

  RecordingSink a;
  auto defaults_only = Run(GenerateRequest{}, a);
  ASSERT_TRUE(defaults_only.ok()) << defaults_only.status();
  EXPECT_EQ(defaults_only->finished.reason, FinishReason::kStopToken);
  EXPECT_THAT(defaults_only->ids,
              ElementsAreArray(golden.begin(), golden.begin() + 3));

  // max_tokens alone: the configured stop token and temperature stay.
  GenerateRequest longer;
  longer.stopping.max_tokens = 20;
  RecordingSink b;
  auto kept = Run(longer, b);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->finished.reason, FinishReason::kStopToken);
  EXPECT_EQ(kept->ids.size(), 3u);

  // An empty list set clears the configured one.
  GenerateRequest cleared;
  cleared.stopping.stop_token_ids.emplace();
  RecordingSink c;
  auto all = Run(cleared, c);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->finished.reason, FinishReason::kMaxTokens);
  EXPECT_THAT(all->ids, ElementsAreArray(golden.begin(), golden.begin() + 7));
}

TEST_F(RuntimeTest, AnEmptyLogitBiasClearsTheConfiguredOne) {
  const auto golden = GoldenIds();
  GenerationOverrides ban;
  ban.sampling.temperature = 0.0f;
  ban.sampling.logit_bias = std::vector<sampling::LogitBias>{
      {golden[0], -std::numeric_limits<float>::infinity()}};
  ASSERT_TRUE(runtime_.Configure(ban).ok());

  GenerateRequest seeded;  // another sampling field: the ban stays
  seeded.sampling.seed = 7;
  seeded.stopping.max_tokens = 1;
  RecordingSink a;
  auto banned = Run(seeded, a);
  ASSERT_TRUE(banned.ok()) << banned.status();
  ASSERT_EQ(banned->ids.size(), 1u);
  EXPECT_NE(banned->ids[0], golden[0]);

  seeded.sampling.logit_bias.emplace();
  RecordingSink b;
  auto unbanned = Run(seeded, b);
  ASSERT_TRUE(unbanned.ok()) << unbanned.status();
  EXPECT_THAT(unbanned->ids, ElementsAreArray({golden[0]}));
}

TEST_F(RuntimeTest, MaxNewTokensBoundsTheDefaultZeroAndLargerValues) {
  auto generated = [&](GenerateRequest r) -> size_t {
    r.sampling.temperature = 0.0f;
    r.stopping.ignore_eos = true;
    r.max_new_tokens = 4;
    RecordingSink sink;
    auto result = Run(r, sink);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->ids.size() : 0;
  };
  EXPECT_EQ(generated(GenerateRequest{}), 4u);  // the default, 256
  GenerateRequest zero;
  zero.stopping.max_tokens = 0;  // until the context is full
  EXPECT_EQ(generated(zero), 4u);
  GenerateRequest larger;
  larger.stopping.max_tokens = 50;
  EXPECT_EQ(generated(larger), 4u);
  GenerateRequest smaller;
  smaller.stopping.max_tokens = 2;
  EXPECT_EQ(generated(smaller), 2u);
  ASSERT_TRUE(runtime_.Configure({.stopping = {.max_tokens = 0}}).ok());
  EXPECT_EQ(generated(GenerateRequest{}), 4u);
}

TEST_F(RuntimeTest, ErrorsCarryTheFieldAtFault) {
  auto field_of = [&](const GenerateRequest& r) {
    RecordingSink sink;
    auto result = Run(r, sink);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(GetErrorCode(result.status()), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(sink.order.empty()) << sink.order;
    return std::pair(FieldOf(result.status()),
                     std::string(result.status().message()));
  };
  // Checks only the vocabulary can answer: stories260K has 512 tokens.
  GenerateRequest stop = Greedy(4);
  stop.stopping.stop_token_ids = std::vector<TokenId>{5, 600};
  auto [stop_field, stop_message] = field_of(stop);
  EXPECT_EQ(stop_field, "stopping");
  EXPECT_EQ(stop_message, "stop_token_ids[1] = 600 is outside the vocabulary");

  GenerateRequest bias = Greedy(4);
  bias.sampling.logit_bias = std::vector<sampling::LogitBias>{{512, 1.0f}};
  EXPECT_EQ(field_of(bias).first, "sampling");

  GenerateRequest chat = Greedy(4);  // the model has no chat template
  chat.chat = ChatPrompt{.messages = {{.role = "user", .content = "hi"}}};
  auto [chat_field, chat_message] = field_of(chat);
  EXPECT_EQ(chat_field, "chat.template");
  EXPECT_EQ(chat_message.rfind("chat.template: ", 0), 0u) << chat_message;

  GenerateRequest grammar = Greedy(4);
  grammar.constraint =
      Constraint{Constraint::Kind::kGrammar, "root ::= <no-such-token> \"a\""};
  EXPECT_EQ(field_of(grammar).first, "constraint.grammar");

  GenerateRequest ids;  // a prompt token outside: no field named, as before
  ids.prompt_ids = {1, 100000};
  EXPECT_EQ(field_of(ids).first, std::nullopt);

  // Configure tags the same checks, and keeps the defaults it had.
  GenerationOverrides bad_stop;
  bad_stop.stopping.stop_token_ids = std::vector<TokenId>{512};
  EXPECT_EQ(FieldOf(runtime_.Configure(bad_stop)), "stopping");
  GenerationOverrides bad_bias;
  bad_bias.sampling.logit_bias = std::vector<sampling::LogitBias>{{1000, 1.0f}};
  bad_bias.stopping.max_tokens = 3;
  EXPECT_EQ(FieldOf(runtime_.Configure(bad_bias)), "sampling");
  EXPECT_EQ(runtime_.defaults().stopping.max_tokens, 256);
  EXPECT_TRUE(runtime_.defaults().stopping.stop_token_ids.empty());
}

TEST_F(RuntimeTest, ProgressIsReportedDuringPrefill) {
  GenerateRequest r = Greedy(1);
  r.prompt_ids.assign(40, 300);
  r.progress_interval = 1;
  RecordingSink sink;
  ASSERT_TRUE(Run(r, sink).ok());
  ASSERT_FALSE(sink.progress.empty());
  EXPECT_EQ(sink.progress.back().processed, 40);
  EXPECT_EQ(sink.progress.back().total, 40);
  EXPECT_EQ(sink.order.front(), 'S');
}

TEST_F(RuntimeTest, TokenizeDetokenizeAndDiagnostics) {
  auto ids = runtime_.Tokenize("Once upon a time", {});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), 1);  // BOS by the model's rule
  auto text = runtime_.Detokenize(*ids);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "Once upon a time");
  EXPECT_EQ(GetErrorCode(runtime_.Detokenize({1, 99999}).status()),
            ErrorCode::kInvalidArgument);
  const Diagnostics d = runtime_.GetDiagnostics();
  EXPECT_TRUE(d.model_loaded);
  EXPECT_EQ(d.max_concurrent_entries, 1);
  EXPECT_GT(d.kv_cache_bytes, 0u);
  EXPECT_GT(d.weights_bytes, 0u);
  EXPECT_EQ(d.model.vocab_size, 512);
}

}  // namespace
}  // namespace ggufd
