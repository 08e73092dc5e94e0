// Sessions end to end on a real ggufd with a tiny model (fast enough for the
// sanitizer builds): the TTL, save/restore refusing files that do not fit,
// and the state directory they need.
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

TEST(ServiceSessionsTest, IdleSessionsExpireAfterTheTtl) {
  auto server =
      GgufdProcess::Start({"--model", StoriesModel(), "--session-ttl-s", "1"});
  ASSERT_NE(server, nullptr);
  Sessions sessions(*server);
  RunTurn(*server, TextRequest("Once", 4));  // warm, no session
  v1::GenerateRequest a = TextRequest("Once upon", 4);
  a.set_session_id("a");
  RunTurn(*server, a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  // A turn on another session drops the stale one first.
  v1::GenerateRequest b = TextRequest("There was", 4);
  b.set_session_id("b");
  RunTurn(*server, b);
  v1::ListSessionsResponse list = sessions.List();
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).id(), "b");
  // With no traffic at all, the server's sweep drops it too.
  EXPECT_TRUE(Eventually([&] { return sessions.List().sessions_size() == 0; }));
  EXPECT_EQ(Status(*server, "default").counters().sessions_expired(), 2u);
}

TEST(ServiceSessionsTest, RefusesSessionFilesThatDoNotFit) {
  // A tiny model dir of our own: stories260K and a requantized copy (the
  // same tokenizer and shape, other weights).
  const fs::path dir = TempDir("refuse");
  const fs::path state = dir / "state";
  fs::create_directories(state);
  fs::copy_file(StoriesModel(), dir / "stories.gguf");
  ASSERT_EQ(std::system((GgufdBinary() + " quantize " +
                         (dir / "stories.gguf").string() + " " +
                         (dir / "stories.q8_0.gguf").string() +
                         " Q8_0 --pure > /dev/null 2>&1")
                            .c_str()),
            0);
  auto server = GgufdProcess::Start({"--model", (dir / "stories.gguf").string(),
                                     "--state-dir", state.string()});
  ASSERT_NE(server, nullptr);
  Sessions sessions(*server);
  v1::GenerateRequest turn = TextRequest("Once upon a time", 8);
  turn.set_session_id("s");
  RunTurn(*server, turn);
  ASSERT_TRUE(sessions.Save("s", "s.session").ok());
  const std::string good = (state / "s.session").string();
  const uintmax_t size = fs::file_size(good);
  auto variant = [&](const std::string& name, auto&& change) {
    fs::copy_file(good, state / name, fs::copy_options::overwrite_existing);
    std::fstream f(state / name,
                   std::ios::in | std::ios::out | std::ios::binary);
    change(f);
  };
  variant("flipped.session", [&](std::fstream& f) {
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put('\x5a');
  });
  fs::copy_file(good, state / "cut.session");
  fs::resize_file(state / "cut.session", size - 100);
  variant("newer.session", [](std::fstream& f) {
    f.seekp(8);
    const char version[4] = {99, 0, 0, 0};
    f.write(version, 4);
  });
  std::ofstream(state / "junk.session") << "not a session";

  auto refused = [&](const std::string& path, ErrorCode code,
                     const std::string& says) {
    const grpc::Status s = sessions.Restore(path, "r");
    EXPECT_EQ(ErrorCodeOf(s), static_cast<int>(code)) << path;
    EXPECT_NE(s.error_message().find(says), std::string::npos)
        << path << ": " << s.error_message();
  };
  refused("flipped.session", ErrorCode::kInvalidArgument, "checksum");
  refused("cut.session", ErrorCode::kInvalidArgument, "truncated");
  refused("newer.session", ErrorCode::kSessionMismatch, "newer");
  refused("junk.session", ErrorCode::kInvalidArgument, "not a valid session");
  refused("missing.session", ErrorCode::kSessionNotFound, "no such");
  EXPECT_EQ(sessions.Restore("../stories.gguf", "r").error_code(),
            grpc::PERMISSION_DENIED);
  EXPECT_EQ(sessions.Save("s", "../escape.session").error_code(),
            grpc::PERMISSION_DENIED);
  EXPECT_EQ(sessions.List().sessions_size(), 1);  // nothing was added

  // Another model's runtime refuses it: its cache means nothing there.
  {
    grpc::ClientContext context;
    v1::CreateRuntimeRequest create;
    create.set_name("other");
    v1::RuntimeInfo info;
    ASSERT_TRUE(server->runtime().CreateRuntime(&context, create, &info).ok());
  }
  ASSERT_TRUE(Load(*server, "other", "stories.q8_0.gguf").ok());
  const grpc::Status foreign = sessions.Restore("s.session", "r", "other");
  EXPECT_EQ(ErrorCodeOf(foreign),
            static_cast<int>(ErrorCode::kSessionMismatch));
  EXPECT_NE(foreign.error_message().find("another model"), std::string::npos)
      << foreign.error_message();
  fs::remove_all(dir);
}

TEST(ServiceSessionsTest, SaveAndRestoreNeedAStateDirectory) {
  auto server = GgufdProcess::Start({"--model", StoriesModel()});
  ASSERT_NE(server, nullptr);
  v1::GenerateRequest turn = TextRequest("Once", 4);
  turn.set_session_id("s");
  RunTurn(*server, turn);
  EXPECT_EQ(ErrorCodeOf(Sessions(*server).Save("s", "")),
            static_cast<int>(ErrorCode::kNotConfigured));
  EXPECT_EQ(ErrorCodeOf(Sessions(*server).Restore("s.session", "")),
            static_cast<int>(ErrorCode::kNotConfigured));
}

TEST(ServiceSessionsTest, AnEvictedSavedSessionReloadsItsCacheFromTheFile) {
  const fs::path state = TempDir("reload");
  auto server = GgufdProcess::Start(
      {"--model", StoriesModel(), "--state-dir", state.string()});
  ASSERT_NE(server, nullptr);
  Sessions sessions(*server);
  const std::vector<int> a1 = Tokenize(*server, "Once upon a time", true);
  const std::vector<int> b1 = Tokenize(*server, "The little dog", true);
  const std::vector<int> more = Tokenize(*server, " and then", false);
  RunTurn(*server, TokensTurn(a1, "probe", 8));
  const v1::SessionInfo probe = sessions.List().sessions(0);
  const uint64_t per_token = probe.kv_bytes() / probe.cached_tokens();
  ASSERT_TRUE(CreateWithSessionBudget(*server, "small",
                                      fs::path(StoriesModel()).filename(),
                                      per_token * 20)
                  .ok());
  RunTurn(*server, TokensTurn(a1, "a", 8, "small"));
  {
    grpc::ClientContext context;
    v1::SaveSessionRequest request;
    request.set_runtime("small");
    request.set_session_id("a");
    v1::SaveSessionResponse response;
    ASSERT_TRUE(sessions.stub().SaveSession(&context, request, &response).ok());
  }
  RunTurn(*server, TokensTurn(b1, "b", 8, "small"));  // evicts a
  const Turn again = RunTurn(*server, TokensTurn(more, "a", 8, "small"));
  EXPECT_EQ(again.started.session_cache(), v1::SESSION_CACHE_RESTORED);
  EXPECT_GT(again.started.cached_tokens(), 0);
  // The same as continuing the saved copy restored elsewhere.
  ASSERT_TRUE(sessions.Restore("a.session", "copy").ok());
  const Turn copy = RunTurn(*server, TokensTurn(more, "copy", 8));
  EXPECT_EQ(copy.started.session_cache(), v1::SESSION_CACHE_HIT);
  EXPECT_EQ(again.ids, copy.ids);
  fs::remove_all(state);
}

}  // namespace
}  // namespace ggufd::testing
