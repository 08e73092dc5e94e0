// Sessions end to end on a real ggufd with the default model: conversations
// that keep their KV cache between turns, interleaved on one runtime,
// evicted under a budget, forked and rewound, saved and restored across a
// restart, and one model shared by two runtimes.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/error_code.h"
#include "tests/service/session_testing.h"

namespace ggufd::testing {
namespace {

namespace fs = std::filesystem;

TEST(ServiceSessionsTest, InterleavedSessionsEachKeepTheirOwnCache) {
  auto server = GgufdProcess::Start({"--model", SmolLmModel()});
  ASSERT_NE(server, nullptr);
  const std::vector<int> a1 =
      Tokenize(*server, "The three primary colors are", true);
  const std::vector<int> b1 =
      Tokenize(*server, "A recipe for bread needs flour,", true);
  const std::vector<int> a2 = Tokenize(*server, " Which one is warm?", false);
  const std::vector<int> b2 = Tokenize(*server, " How long to bake?", false);

  const Turn ta1 = RunTurn(*server, TokensTurn(a1, "a", 12));
  EXPECT_EQ(ta1.started.session_cache(), v1::SESSION_CACHE_NEW);
  EXPECT_EQ(ta1.started.session_id(), "a");
  const Turn tb1 = RunTurn(*server, TokensTurn(b1, "b", 12));
  const Turn ta2 = RunTurn(*server, TokensTurn(a2, "a", 12));
  const Turn tb2 = RunTurn(*server, TokensTurn(b2, "b", 12));
  // Each later turn found its own history in the cache (all of it but the
  // last generated token, never evaluated) and prefilled only what is new.
  for (const auto& [turn, first, second] :
       {std::tuple{&ta2, &ta1, &a1}, std::tuple{&tb2, &tb1, &b1}}) {
    const int history = static_cast<int>(second->size() + first->ids.size());
    EXPECT_EQ(turn->started.session_cache(), v1::SESSION_CACHE_HIT);
    EXPECT_EQ(turn->started.session_tokens(), history);
    EXPECT_EQ(turn->started.cached_tokens(), history - 1);
  }

  // The same conversation through the runtime's shared cache gives the
  // same tokens: a session is that cache, kept per conversation.
  const Turn s1 = RunTurn(*server, TokensTurn(a1, "", 12));
  ASSERT_EQ(s1.ids, ta1.ids);
  const Turn s2 =
      RunTurn(*server, TokensTurn(Concat({a1, ta1.ids, a2}), "", 12));
  EXPECT_EQ(s2.started.cached_tokens(), ta2.started.cached_tokens());
  EXPECT_EQ(s2.ids, ta2.ids);

  const v1::ListSessionsResponse list = Sessions(*server).List();
  ASSERT_EQ(list.sessions_size(), 2);
  EXPECT_EQ(list.sessions(0).id(), "b");  // most recently used first
  EXPECT_EQ(list.sessions(1).turns(), 2);
  EXPECT_GT(list.kv_bytes(), 0u);
  const v1::RuntimeStatus status = Status(*server, "default");
  EXPECT_EQ(status.sessions().sessions(), 2);
  EXPECT_EQ(status.sessions().kv_bytes(), list.kv_bytes());
  EXPECT_EQ(
      status.counters().prefilled_tokens(),
      status.counters().prompt_tokens() - status.counters().cached_tokens());
}

TEST(ServiceSessionsTest, ChatTurnsContinueTheTemplatedConversation) {
  auto server = GgufdProcess::Start({"--model", SmolLmModel()});
  ASSERT_NE(server, nullptr);
  auto chat_turn = [&](const std::string& content) {
    v1::GenerateRequest request;
    request.set_session_id("chat");
    auto* m = request.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content(content);
    request.mutable_sampling()->set_temperature(0);
    request.mutable_stopping()->set_max_tokens(64);
    request.mutable_output()->set_token_ids(true);
    return RunTurn(*server, request);
  };
  const Turn t1 = chat_turn("What is the capital of France?");
  const Turn t2 = chat_turn("And of Italy?");
  EXPECT_EQ(t2.started.session_cache(), v1::SESSION_CACHE_HIT);
  // Turn 2 saw what the whole conversation formatted at once says (the
  // answer closed with <|im_end|>\n, as ChatML writes an assistant turn).
  const std::string whole =
      "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
      "<|im_start|>assistant\n" +
      t1.text +
      "<|im_end|>\n<|im_start|>user\nAnd of Italy?<|im_end|>\n"
      "<|im_start|>assistant\n";
  EXPECT_EQ(t2.started.prompt_tokens(),
            static_cast<int>(Tokenize(*server, whole, true, true).size()));
  EXPECT_NE(t2.text.find("Rome"), std::string::npos) << t2.text;
}

TEST(ServiceSessionsTest, EvictsLeastRecentlyUsedUnderTheBudget) {
  auto server = GgufdProcess::Start({"--model", SmolLmModel()});
  ASSERT_NE(server, nullptr);
  Sessions sessions(*server);
  const std::vector<int> a1 = Tokenize(*server, "Once upon a time", true);
  const std::vector<int> b1 = Tokenize(*server, "In a galaxy far away", true);
  const std::vector<int> more = Tokenize(*server, " and then", false);
  RunTurn(*server, TokensTurn(a1, "probe", 8));
  const v1::SessionInfo probe = sessions.List().sessions(0);
  const uint64_t per_token = probe.kv_bytes() / probe.cached_tokens();
  ASSERT_TRUE(sessions.Delete("probe"));

  // Room for about one session's cache: B's turn pushes A's out.
  ASSERT_TRUE(CreateWithSessionBudget(*server, "small",
                                      fs::path(SmolLmModel()).filename(),
                                      per_token * 20)
                  .ok());
  const Turn ta1 = RunTurn(*server, TokensTurn(a1, "a", 8, "small"));
  RunTurn(*server, TokensTurn(b1, "b", 8, "small"));
  const Turn ta2 = RunTurn(*server, TokensTurn(more, "a", 8, "small"));
  EXPECT_EQ(ta2.started.session_cache(), v1::SESSION_CACHE_EVICTED);
  EXPECT_EQ(ta2.started.cached_tokens(), 0);
  // Evaluated again from its history, as a stateless prompt would be.
  const Turn fresh = [&] {
    v1::GenerateRequest r =
        TokensTurn(Concat({a1, ta1.ids, more}), "", 8, "small");
    r.set_reuse_cache(false);
    return RunTurn(*server, r);
  }();
  EXPECT_EQ(ta2.ids, fresh.ids);
  const Turn tb2 = RunTurn(*server, TokensTurn(more, "b", 8, "small"));
  EXPECT_EQ(tb2.started.session_cache(), v1::SESSION_CACHE_EVICTED);
  const v1::RuntimeStatus status = Status(*server, "small");
  EXPECT_GE(status.counters().session_evictions(), 2u);
  EXPECT_LE(status.sessions().kv_bytes(), status.sessions().kv_budget_bytes());
  EXPECT_EQ(sessions.List("small").sessions_size(), 2);  // histories stay
}

TEST(ServiceSessionsTest, ForksCopyAndRewindAConversation) {
  auto server = GgufdProcess::Start({"--model", SmolLmModel()});
  ASSERT_NE(server, nullptr);
  Sessions sessions(*server);
  const std::vector<int> p1 = Tokenize(*server, "My favourite fruit is", true);
  const std::vector<int> p2 = Tokenize(*server, " Why?", false);
  const std::vector<int> p3 = Tokenize(*server, " Tell me more:", false);
  const Turn t1 = RunTurn(*server, TokensTurn(p1, "s", 10));
  RunTurn(*server, TokensTurn(p2, "s", 10));

  v1::SessionInfo copy;
  ASSERT_TRUE(sessions.Fork("s", "copy", 0, &copy).ok());
  EXPECT_EQ(copy.turns(), 0);
  const Turn from_copy = RunTurn(*server, TokensTurn(p3, "copy", 10));
  const Turn from_original = RunTurn(*server, TokensTurn(p3, "s", 10));
  EXPECT_EQ(from_copy.started.session_cache(), v1::SESSION_CACHE_HIT);
  EXPECT_EQ(from_copy.ids, from_original.ids);

  // Rewound to the first prompt: continuing it is the shared cache's
  // answer to that prompt followed by the new text.
  v1::SessionInfo rewound;
  ASSERT_TRUE(
      sessions.Fork("s", "rewound", static_cast<int>(p1.size()), &rewound)
          .ok());
  EXPECT_EQ(rewound.tokens(), static_cast<int>(p1.size()));
  EXPECT_EQ(rewound.cached_tokens(), static_cast<int>(p1.size()));
  const Turn branch = RunTurn(*server, TokensTurn(p3, "rewound", 10));
  EXPECT_EQ(branch.started.cached_tokens(), static_cast<int>(p1.size()));
  ASSERT_EQ(RunTurn(*server, TokensTurn(p1, "", 10)).ids, t1.ids);
  const Turn stateless = RunTurn(*server, TokensTurn(Concat({p1, p3}), "", 10));
  EXPECT_EQ(stateless.started.cached_tokens(), static_cast<int>(p1.size()));
  EXPECT_EQ(branch.ids, stateless.ids);

  EXPECT_EQ(ErrorCodeOf(sessions.Fork("s", "copy")),
            static_cast<int>(ErrorCode::kAlreadyExists));
  EXPECT_EQ(ErrorCodeOf(sessions.Fork("nobody", "x")),
            static_cast<int>(ErrorCode::kSessionNotFound));
  EXPECT_TRUE(
      HasFieldViolation(sessions.Fork("s", "y", 100000), "keep_tokens"));
  EXPECT_TRUE(
      HasFieldViolation(sessions.Fork("s", "bad id!"), "new_session_id"));
  EXPECT_TRUE(sessions.Delete("copy"));
  EXPECT_FALSE(sessions.Delete("copy"));
}

TEST(ServiceSessionsTest, SaveRestartRestoreContinuesIdentically) {
  const fs::path state = TempDir("restart");
  const std::vector<std::string> args = {"--model", SmolLmModel(),
                                         "--state-dir", state.string()};
  std::vector<int> p1, p2, p3;
  Turn expected;
  {
    auto server = GgufdProcess::Start(args);
    ASSERT_NE(server, nullptr);
    p1 = Tokenize(*server, "The ocean is deep and", true);
    p2 = Tokenize(*server, " Fish swim", false);
    p3 = Tokenize(*server, " At night,", false);
    RunTurn(*server, TokensTurn(p1, "talk", 12));
    RunTurn(*server, TokensTurn(p2, "talk", 12));
    v1::SaveSessionResponse saved;
    ASSERT_TRUE(Sessions(*server).Save("talk", "", &saved).ok());
    EXPECT_EQ(saved.path(), "talk.session");
    EXPECT_EQ(saved.file_bytes(), fs::file_size(state / "talk.session"));
    EXPECT_TRUE(saved.session().saved());
    expected = RunTurn(*server, TokensTurn(p3, "talk", 12));
    EXPECT_EQ(server->StopWith(SIGTERM), 0);
  }
  auto server = GgufdProcess::Start(args);
  ASSERT_NE(server, nullptr);
  Sessions sessions(*server);
  ASSERT_TRUE(sessions.Restore("talk.session", "").ok());
  const Turn again = RunTurn(*server, TokensTurn(p3, "talk", 12));
  EXPECT_EQ(again.started.session_cache(), v1::SESSION_CACHE_HIT);
  EXPECT_EQ(again.started.cached_tokens(), expected.started.cached_tokens());
  EXPECT_EQ(again.ids, expected.ids);
  EXPECT_EQ(ErrorCodeOf(sessions.Restore("talk.session", "")),
            static_cast<int>(ErrorCode::kAlreadyExists));
  EXPECT_TRUE(sessions.Restore("talk.session", "", "", true).ok());
  fs::remove_all(state);
}

TEST(ServiceSessionsTest, RuntimesOnOneFileShareItsMemory) {
  auto server = GgufdProcess::Start({"--model", SmolLmModel()});
  ASSERT_NE(server, nullptr);
  RunTurn(*server, TextRequest("Hello", 4));
  const int64_t before = RssBytes(server->pid());
  {
    grpc::ClientContext context;
    v1::CreateRuntimeRequest create;
    create.set_name("second");
    v1::RuntimeInfo info;
    ASSERT_TRUE(server->runtime().CreateRuntime(&context, create, &info).ok());
  }
  ASSERT_TRUE(Load(*server, "second", fs::path(SmolLmModel()).filename()).ok());
  RunTurn(*server, TextRequest("Hello", 4, "second"));
  const int64_t after = RssBytes(server->pid());
  const uint64_t model_bytes = fs::file_size(SmolLmModel());
  // The second runtime adds its KV cache and scratch, not another copy of
  // the weights and their decode panels.
  EXPECT_LT(after - before, static_cast<int64_t>(model_bytes / 4))
      << "RSS grew from " << before << " to " << after;
  EXPECT_EQ(Status(*server, "default", /*fresh=*/true).model_shared_by(), 2);
  EXPECT_EQ(Status(*server, "second").model_shared_by(), 2);
}

}  // namespace
}  // namespace ggufd::testing
