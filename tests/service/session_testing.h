// Helpers for the session tests: the Sessions stub, greedy turns on a
// session (or statelessly), and files and processes to look at.
#ifndef GGUFD_TESTS_SERVICE_SESSION_TESTING_H_
#define GGUFD_TESTS_SERVICE_SESSION_TESTING_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ggufd/v1/sessions.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {

namespace fs = std::filesystem;

class Sessions {
 public:
  explicit Sessions(GgufdProcess& server)
      : stub_(v1::Sessions::NewStub(server.channel())) {}

  v1::ListSessionsResponse List(const std::string& runtime = "") {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    request.set_runtime(runtime);
    v1::ListSessionsResponse response;
    EXPECT_TRUE(stub_->ListSessions(&context, request, &response).ok());
    return response;
  }
  grpc::Status Fork(const std::string& from, const std::string& to,
                    int keep_tokens = 0, v1::SessionInfo* out = nullptr) {
    grpc::ClientContext context;
    v1::ForkSessionRequest request;
    request.set_session_id(from);
    request.set_new_session_id(to);
    if (keep_tokens > 0) request.set_keep_tokens(keep_tokens);
    v1::SessionInfo info;
    return stub_->ForkSession(&context, request, out ? out : &info);
  }
  grpc::Status Save(const std::string& id, const std::string& path,
                    v1::SaveSessionResponse* out = nullptr) {
    grpc::ClientContext context;
    v1::SaveSessionRequest request;
    request.set_session_id(id);
    request.set_path(path);
    v1::SaveSessionResponse response;
    return stub_->SaveSession(&context, request, out ? out : &response);
  }
  grpc::Status Restore(const std::string& path, const std::string& id,
                       const std::string& runtime = "", bool replace = false) {
    grpc::ClientContext context;
    v1::RestoreSessionRequest request;
    request.set_runtime(runtime);
    request.set_path(path);
    request.set_session_id(id);
    request.set_replace(replace);
    v1::SessionInfo info;
    return stub_->RestoreSession(&context, request, &info);
  }
  bool Delete(const std::string& id) {
    grpc::ClientContext context;
    v1::DeleteSessionRequest request;
    request.set_session_id(id);
    v1::DeleteSessionResponse response;
    EXPECT_TRUE(stub_->DeleteSession(&context, request, &response).ok());
    return response.found();
  }

  v1::Sessions::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::Sessions::Stub> stub_;
};

// A greedy turn of `ids` (no end token: ignore_eos), on `session` or, when
// empty, statelessly.
inline v1::GenerateRequest TokensTurn(const std::vector<int>& ids,
                                      const std::string& session,
                                      int max_tokens,
                                      const std::string& runtime = "") {
  v1::GenerateRequest request;
  request.set_runtime(runtime);
  request.set_session_id(session);
  for (int id : ids) request.mutable_tokens()->add_ids(id);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_stopping()->set_max_tokens(max_tokens);
  request.mutable_stopping()->set_ignore_eos(true);
  request.mutable_output()->set_token_ids(true);
  return request;
}

struct Turn {
  v1::Started started;
  std::vector<int> ids;
  std::string text;
};

inline Turn RunTurn(GgufdProcess& server, const v1::GenerateRequest& request) {
  const GenerateResult r = Generate(server.inference(), request);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  Turn turn;
  turn.text = r.text;
  for (const v1::GenerateEvent& e : r.events) {
    if (e.has_started()) turn.started = e.started();
    if (e.has_chunk()) {
      for (const v1::Token& t : e.chunk().tokens()) turn.ids.push_back(t.id());
    }
  }
  return turn;
}

inline std::vector<int> Tokenize(GgufdProcess& server, const std::string& text,
                                 bool add_special, bool parse_special = false) {
  grpc::ClientContext context;
  v1::TokenizeRequest request;
  request.set_text(text);
  request.set_add_special(add_special);
  request.set_parse_special(parse_special);
  v1::TokenizeResponse response;
  EXPECT_TRUE(server.inference().Tokenize(&context, request, &response).ok());
  return {response.ids().begin(), response.ids().end()};
}

inline std::vector<int> Concat(std::initializer_list<std::vector<int>> parts) {
  std::vector<int> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline fs::path TempDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("ggufd_sessions_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline int64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Creates runtime `name` and loads `model` (a file in the server's model
// directory) into it with a session budget of `budget` bytes.
inline grpc::Status CreateWithSessionBudget(GgufdProcess& server,
                                            const std::string& name,
                                            const std::string& model,
                                            uint64_t budget) {
  grpc::ClientContext context;
  v1::CreateRuntimeRequest create;
  create.set_name(name);
  v1::RuntimeInfo info;
  grpc::Status created =
      server.runtime().CreateRuntime(&context, create, &info);
  if (!created.ok()) return created;
  grpc::ClientContext load_context;
  v1::LoadModelRequest load;
  load.set_runtime(name);
  load.set_path(model);
  load.set_session_memory_bytes(budget);
  auto reader = server.runtime().LoadModel(&load_context, load);
  v1::LoadModelEvent event;
  while (reader->Read(&event)) {
  }
  return reader->Finish();
}

}  // namespace ggufd::testing

#endif  // GGUFD_TESTS_SERVICE_SESSION_TESTING_H_
