// Admission, cancellation and failure isolation of a real `ggufd serve`:
// full queues, deadlines that expire in the queue, Cancel by id, client
// cancels, poisoned runtimes, dead workers, and the one-operation-at-a-time
// invariant under many concurrent clients.
#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

class ServiceAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = GgufdProcess::Start(
        {"--model", StoriesModel(), "--queue-capacity", "2"});
    ASSERT_NE(server_, nullptr);
  }
  std::unique_ptr<GgufdProcess> server_;
};

// Whether the server counted a Generate that ended with `code` (its own
// view, not the client's: a deadline fires on both sides).
bool ServerCountedGenerate(const GgufdProcess& server, const char* code) {
  httplib::Client http("127.0.0.1", server.metrics_port());
  auto response = http.Get("/metrics");
  return response &&
         response->body.find(
             std::string(
                 "ggufd_requests_total{method=\"Inference/Generate\",code=\"") +
             code + "\"}") != std::string::npos;
}

// A generation long enough to cancel: up to the whole context, EOS ignored.
v1::GenerateRequest LongRequest(const std::string& id) {
  v1::GenerateRequest request = TextRequest("Once upon a time", 0);
  request.set_request_id(id);
  request.mutable_stopping()->set_ignore_eos(true);
  return request;
}

TEST_F(ServiceAdmissionTest, FullQueueIsResourceExhaustedWithRetryInfo) {
  Stall(*server_, "default");
  std::vector<std::thread> queued;
  std::vector<grpc::Status> results(2);
  for (int i = 0; i < 2; ++i) {
    queued.emplace_back([&, i] {
      results[i] =
          Generate(server_->inference(), TextRequest("Once", 2)).status;
    });
  }
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server_, "default").queue_depth() == 2; }));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  const GenerateResult full =
      Generate(server_->inference(), TextRequest("Once", 2), &context);
  EXPECT_EQ(full.status.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ErrorCodeOf(full.status), 10);
  EXPECT_TRUE(HasRetryInfo(full.status));
  EXPECT_TRUE(full.events.empty());
  // Refused before any response header.
  EXPECT_TRUE(context.GetServerInitialMetadata().empty());
  Resume(*server_);
  for (auto& t : queued) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(ServiceAdmissionTest, ExpiredInTheQueueNeverStarts) {
  const uint64_t before = Status(*server_, "default").counters().generations();
  Stall(*server_, "default");
  std::atomic<bool> expired{false};
  GenerateResult r;
  std::thread client([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(2));
    r = Generate(server_->inference(), TextRequest("Once", 2), &context);
    expired = true;
  });
  // Admitted (queued) first, then its deadline passes in the queue.
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server_, "default").queue_depth() == 1; }));
  ASSERT_TRUE(Eventually([&] { return expired.load(); }));
  client.join();
  EXPECT_EQ(r.status.error_code(), grpc::DEADLINE_EXCEEDED);
  EXPECT_EQ(r.started, 0);
  // The client's deadline fires on the client; the server's copy of it
  // (and the client's RST_STREAM) arrive later, which under TSan can be long
  // after. Resume only once the server has finished the call itself.
  ASSERT_TRUE(Eventually(
      [&] { return ServerCountedGenerate(*server_, "DEADLINE_EXCEEDED"); }));
  EXPECT_FALSE(ServerCountedGenerate(*server_, "CANCELLED"));
  Resume(*server_);
  // The dropped command shows up as dropped, never as a generation.
  ASSERT_TRUE(Eventually([&] {
    return Status(*server_, "default", /*fresh=*/true).commands_dropped() >= 1;
  }));
  EXPECT_EQ(Status(*server_, "default", true).counters().generations(), before);
}

TEST_F(ServiceAdmissionTest, CancelByIdWhileQueued) {
  Stall(*server_, "default");
  GenerateResult r;
  std::thread client([&] {
    v1::GenerateRequest request = TextRequest("Once", 4);
    request.set_request_id("queued-1");
    r = Generate(server_->inference(), request);
  });
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server_, "default").queue_depth() == 1; }));
  grpc::ClientContext context;
  v1::CancelRequest cancel;
  cancel.set_request_id("queued-1");
  v1::CancelResponse response;
  ASSERT_TRUE(server_->inference().Cancel(&context, cancel, &response).ok());
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.state(), "queued");
  client.join();  // ends while the worker is still stalled
  EXPECT_EQ(r.status.error_code(), grpc::CANCELLED);
  EXPECT_EQ(ErrorCodeOf(r.status), 8);
  EXPECT_EQ(r.started, 0);
  EXPECT_EQ(Status(*server_, "default").running_operation(), "stall");
  Resume(*server_);
}

TEST_F(ServiceAdmissionTest, CancelByIdWhileRunningEndsWithFinished) {
  std::atomic<bool> streaming{false};
  GenerateResult r;
  std::thread client([&] {
    r = Generate(server_->inference(), LongRequest("running-1"), nullptr,
                 [&](const v1::GenerateEvent& e) {
                   if (e.has_chunk()) streaming = true;
                 });
  });
  ASSERT_TRUE(Eventually([&] { return streaming.load(); }));
  grpc::ClientContext context;
  v1::CancelRequest cancel;
  cancel.set_request_id("running-1");
  v1::CancelResponse response;
  ASSERT_TRUE(server_->inference().Cancel(&context, cancel, &response).ok());
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.state(), "running");
  client.join();
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.last.reason(), v1::FINISH_REASON_CANCELLED);
  EXPECT_LT(r.last.usage().completion_tokens(), 2000);
  // The runtime is free again.
  EXPECT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 2)).status.ok());
  EXPECT_GE(Status(*server_, "default").counters().generations_cancelled(), 1u);
}

TEST_F(ServiceAdmissionTest, ClientCancelStopsTheGenerationAndFreesTheRuntime) {
  grpc::ClientContext context;
  std::atomic<int> chunks{0};
  GenerateResult r;
  std::thread client([&] {
    r = Generate(server_->inference(), LongRequest("client-1"), &context,
                 [&](const v1::GenerateEvent& e) {
                   if (e.has_chunk()) ++chunks;
                 });
  });
  ASSERT_TRUE(Eventually([&] { return chunks.load() > 0; }));
  context.TryCancel();
  client.join();
  EXPECT_EQ(r.status.error_code(), grpc::CANCELLED);
  ASSERT_TRUE(Eventually([&] {
    const v1::RuntimeStatus s = Status(*server_, "default");
    return s.running_operation().empty() &&
           s.counters().generations_cancelled() >= 1;
  }));
  ASSERT_TRUE(
      Eventually([&] { return ServerCountedGenerate(*server_, "CANCELLED"); }));
  EXPECT_FALSE(ServerCountedGenerate(*server_, "DEADLINE_EXCEEDED"));
  EXPECT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 2)).status.ok());
}

TEST_F(ServiceAdmissionTest, DeadlineDuringGenerationStopsIt) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(300));
  const GenerateResult r =
      Generate(server_->inference(), LongRequest("deadline-1"), &context);
  EXPECT_EQ(r.status.error_code(), grpc::DEADLINE_EXCEEDED);
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server_, "default").running_operation().empty(); }));
  ASSERT_TRUE(Eventually(
      [&] { return ServerCountedGenerate(*server_, "DEADLINE_EXCEEDED"); }));
  EXPECT_FALSE(ServerCountedGenerate(*server_, "CANCELLED"));
  EXPECT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 2)).status.ok());
}

TEST_F(ServiceAdmissionTest, PoisonedRuntimeAnswers13UntilReset) {
  grpc::ClientContext c1;
  v1::InjectFaultRequest fault;
  fault.set_fault(v1::FAULT_POISON_NEXT_GENERATE);
  v1::InjectFaultResponse injected;
  ASSERT_TRUE(server_->hooks().InjectFault(&c1, fault, &injected).ok());
  const GenerateResult failed =
      Generate(server_->inference(), TextRequest("Once", 8));
  EXPECT_EQ(failed.status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorCodeOf(failed.status), 13);
  const GenerateResult again =
      Generate(server_->inference(), TextRequest("Once", 8));
  EXPECT_EQ(ErrorCodeOf(again.status), 13);
  EXPECT_EQ(again.started, 0);
  EXPECT_TRUE(Status(*server_, "default").poisoned());
  EXPECT_EQ(Status(*server_, "default").state(), v1::RUNTIME_STATE_POISONED);
  grpc::ClientContext c2;
  v1::ResetResponse reset;
  ASSERT_TRUE(server_->runtime().Reset(&c2, v1::ResetRequest(), &reset).ok());
  EXPECT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 4)).status.ok());
}

TEST_F(ServiceAdmissionTest, ADeadWorkerIsUnavailableAndOthersServe) {
  grpc::ClientContext c1;
  v1::CreateRuntimeRequest create;
  create.set_name("doomed");
  v1::RuntimeInfo info;
  ASSERT_TRUE(server_->runtime().CreateRuntime(&c1, create, &info).ok());
  ASSERT_TRUE(Load(*server_, "doomed", "stories260K.gguf").ok());
  grpc::ClientContext c2;
  v1::InjectFaultRequest fault;
  fault.set_runtime("doomed");
  fault.set_fault(v1::FAULT_KILL_WORKER);
  v1::InjectFaultResponse injected;
  const grpc::Status killed =
      server_->hooks().InjectFault(&c2, fault, &injected);
  EXPECT_EQ(killed.error_code(), grpc::UNAVAILABLE);
  const GenerateResult r =
      Generate(server_->inference(), TextRequest("Once", 2, "doomed"));
  EXPECT_EQ(r.status.error_code(), grpc::UNAVAILABLE);
  EXPECT_EQ(ErrorCodeOf(r.status), 14);
  EXPECT_TRUE(HasRetryInfo(r.status));
  EXPECT_EQ(Status(*server_, "doomed").state(), v1::RUNTIME_STATE_DEAD);
  EXPECT_TRUE(
      Generate(server_->inference(), TextRequest("Once", 2)).status.ok());
  // Creating the name again replaces the dead runtime.
  grpc::ClientContext c3;
  ASSERT_TRUE(server_->runtime().CreateRuntime(&c3, create, &info).ok());
  EXPECT_EQ(info.state(), v1::RUNTIME_STATE_EMPTY);
}

// Many clients at once on one runtime: generate, configure, reset,
// diagnostics, tokenize. Every call is answered (OK, or RESOURCE_EXHAUSTED
// when the small queue is full) and the runtime never saw two operations at
// once.
TEST_F(ServiceAdmissionTest, ConcurrentClientsNeverOverlapAndAllGetAnswers) {
  constexpr int kClients = 8;
  constexpr int kCallsPerClient = 12;
  std::atomic<int> answered{0}, ok{0}, busy{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kCallsPerClient; ++i) {
        grpc::Status s;
        switch ((c + i) % 5) {
          case 0:
            s = Generate(server_->inference(), TextRequest("Once", 3)).status;
            break;
          case 1: {
            grpc::ClientContext context;
            v1::ConfigureRequest request;
            request.mutable_sampling()->set_top_k(10 + i);
            v1::ConfigureResponse response;
            s = server_->runtime().Configure(&context, request, &response);
            break;
          }
          case 2: {
            grpc::ClientContext context;
            v1::ResetResponse response;
            s = server_->runtime().Reset(&context, v1::ResetRequest(),
                                         &response);
            break;
          }
          case 3: {
            grpc::ClientContext context;
            v1::GetStatusRequest request;
            request.set_fresh(true);
            v1::RuntimeStatus response;
            s = server_->diagnostics().GetStatus(&context, request, &response);
            break;
          }
          default: {
            grpc::ClientContext context;
            v1::TokenizeRequest request;
            request.set_text("Once upon a time");
            v1::TokenizeResponse response;
            s = server_->inference().Tokenize(&context, request, &response);
            break;
          }
        }
        ++answered;
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::RESOURCE_EXHAUSTED) {
          ++busy;
        } else {
          ++other;
          ADD_FAILURE() << s.error_code() << " " << s.error_message();
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients * kCallsPerClient);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  const v1::RuntimeStatus status = Status(*server_, "default", /*fresh=*/true);
  EXPECT_EQ(status.max_concurrent_entries(), 1);
  EXPECT_FALSE(status.poisoned());
}

}  // namespace
}  // namespace ggufd::testing
