// What inference-aware routers read from a real `ggufd serve` with a real
// model: the gauges the Gateway API Inference Extension's endpoint picker
// scrapes under vLLM's names (vllm:num_requests_waiting,
// vllm:num_requests_running, vllm:kv_cache_usage_perc, one series per
// runtime labelled model_name), and the ORCA load report gRPC clients find
// in the endpoint-load-metrics-bin trailer of inference calls.
//
// The report is read through grpcurl (gRPC-Go): gRPC C++ keeps that trailer
// for its own load-balancing policies and never shows it to the
// application, which is also why no C++ stub here could see it.
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/service/exposition_checker.h"
#include "tests/service/ggufd_process.h"
#include "xds/data/orca/v3/orca_load_report.pb.h"

namespace ggufd::testing {
namespace {

using xds::data::orca::v3::OrcaLoadReport;

constexpr int kContext = 2048;

// One scrape, checked against the exposition format.
Samples Scrape(GgufdProcess& server) {
  httplib::Client http("127.0.0.1", server.metrics_port());
  auto response = http.Get("/metrics");
  if (!response || response->status != 200) {
    ADD_FAILURE() << "no /metrics answer";
    return {};
  }
  auto samples = CheckExposition(response->body);
  if (!samples.ok()) {
    ADD_FAILURE() << samples.status() << "\n" << response->body;
    return {};
  }
  return *samples;
}

// The runtime's sample of a vllm:* gauge, or NaN when it has none.
double Gauge(const Samples& samples, const std::string& name,
             const std::string& runtime = "default") {
  auto it = samples.find(name + "{model_name=\"" + runtime + "\"}");
  return it == samples.end() ? std::nan("") : it->second;
}

struct VllmGauges {
  double waiting, running, kv;
};
VllmGauges Gauges(GgufdProcess& server,
                  const std::string& runtime = "default") {
  const Samples s = Scrape(server);
  return {Gauge(s, "vllm:num_requests_waiting", runtime),
          Gauge(s, "vllm:num_requests_running", runtime),
          Gauge(s, "vllm:kv_cache_usage_perc", runtime)};
}

struct GrpcurlCall {
  int exit_code = -1;
  std::string out;  // stdout and stderr
  std::optional<OrcaLoadReport> report;
};

// Calls `method` with the JSON `request` through grpcurl -v and decodes the
// load report in the trailers it prints.
GrpcurlCall CallWithGrpcurl(GgufdProcess& server, const std::string& method,
                            const std::string& request) {
  GrpcurlCall call;
  const std::string grpcurl =
      std::string(GGUFD_SOURCE_DIR) + "/tools/bin/grpcurl";
  if (!std::filesystem::exists(grpcurl)) {
    ADD_FAILURE() << "grpcurl is missing: run deploy/setup.sh";
    return call;
  }
  const ShellResult run = RunShell(grpcurl + " -plaintext -v -d '" + request +
                                   "' " + server.address() + " " + method);
  call.exit_code = run.exit_code;
  call.out = run.output;
  constexpr char kKey[] = "endpoint-load-metrics-bin: ";
  for (absl::string_view line : absl::StrSplit(call.out, '\n')) {
    if (!absl::ConsumePrefix(&line, kKey)) continue;
    std::string bytes;
    OrcaLoadReport report;
    EXPECT_TRUE(absl::Base64Unescape(line, &bytes)) << line;
    EXPECT_TRUE(report.ParseFromString(bytes));
    call.report = report;
  }
  return call;
}

class LoadSignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = GgufdProcess::Start({"--model", SmolLmModel(), "--context-length",
                                   std::to_string(kContext), "--queue-capacity",
                                   "2"});
    ASSERT_NE(server_, nullptr);
  }
  // Stalls the worker and queues two generations (the capacity) behind it;
  // they finish once the worker is resumed.
  std::vector<std::thread> FillTheQueue() {
    Stall(*server_, "default");
    std::vector<std::thread> queued;
    for (int i = 0; i < 2; ++i) {
      queued.emplace_back([this] {
        EXPECT_TRUE(
            Generate(server_->inference(), TextRequest("Once", 2)).status.ok());
      });
    }
    return queued;
  }
  std::unique_ptr<GgufdProcess> server_;
};

TEST_F(LoadSignalsTest, VllmGaugesFollowTheQueueAndTheRunningGeneration) {
  VllmGauges idle = Gauges(*server_);
  EXPECT_EQ(idle.waiting, 0);
  EXPECT_EQ(idle.running, 0);
  EXPECT_EQ(idle.kv, 0);

  // Two requests wait behind a busy worker.
  std::vector<std::thread> queued = FillTheQueue();
  ASSERT_TRUE(Eventually([&] { return Gauges(*server_).waiting == 2; }));
  const VllmGauges stalled = Gauges(*server_);
  EXPECT_EQ(stalled.running, 1);
  EXPECT_EQ(stalled.kv, 0) << "the stall is not a generation";
  Resume(*server_);
  for (auto& t : queued) t.join();

  // A long generation: its KV share is its context positions over the
  // context length, and grows with every token.
  v1::GenerateRequest long_request = TextRequest("Once upon a time", 0);
  long_request.set_request_id("long-1");
  long_request.mutable_stopping()->set_ignore_eos(true);
  std::atomic<int> prompt_tokens{0};
  GenerateResult long_result;
  std::thread client([&] {
    long_result = Generate(server_->inference(), long_request, nullptr,
                           [&](const v1::GenerateEvent& e) {
                             if (e.has_started()) {
                               prompt_tokens = e.started().prompt_tokens();
                             }
                           });
  });
  ASSERT_TRUE(Eventually(
      [&] { return prompt_tokens.load() > 0 && Gauges(*server_).kv > 0; }));
  const VllmGauges first = Gauges(*server_);
  EXPECT_EQ(first.running, 1);
  EXPECT_EQ(first.waiting, 0);
  const double positions = first.kv * kContext;
  EXPECT_NEAR(positions, std::round(positions), 1e-6) << "not whole positions";
  EXPECT_GE(positions, prompt_tokens.load());
  EXPECT_LT(positions, kContext);
  // 16 tokens later.
  ASSERT_TRUE(Eventually(
      [&] { return Gauges(*server_).kv * kContext >= positions + 16; }));
  grpc::ClientContext cancel_context;
  v1::CancelRequest cancel;
  cancel.set_request_id("long-1");
  v1::CancelResponse cancelled;
  ASSERT_TRUE(
      server_->inference().Cancel(&cancel_context, cancel, &cancelled).ok());
  client.join();
  EXPECT_TRUE(long_result.status.ok()) << long_result.status.error_message();
  EXPECT_EQ(long_result.last.reason(), v1::FINISH_REASON_CANCELLED);
  // The cache stays filled for the next request to reuse, but nothing
  // holds it: vLLM counts such blocks as free too.
  ASSERT_TRUE(Eventually([&] {
    const VllmGauges g = Gauges(*server_);
    return g.kv == 0 && g.running == 0;
  }));
}

TEST_F(LoadSignalsTest, OneSeriesPerRuntimeLabelledWithItsName) {
  grpc::ClientContext create_context;
  v1::CreateRuntimeRequest create;
  create.set_name("second");
  v1::RuntimeInfo info;
  ASSERT_TRUE(
      server_->runtime().CreateRuntime(&create_context, create, &info).ok());
  Samples s = Scrape(*server_);
  for (const char* name :
       {"vllm:num_requests_waiting", "vllm:num_requests_running",
        "vllm:kv_cache_usage_perc"}) {
    EXPECT_EQ(Gauge(s, name, "default"), 0) << name;
    EXPECT_EQ(Gauge(s, name, "second"), 0) << name;
  }
  grpc::ClientContext delete_context;
  v1::DeleteRuntimeRequest del;
  del.set_name("second");
  v1::DeleteRuntimeResponse deleted;
  ASSERT_TRUE(
      server_->runtime().DeleteRuntime(&delete_context, del, &deleted).ok());
  s = Scrape(*server_);
  EXPECT_TRUE(std::isnan(Gauge(s, "vllm:num_requests_waiting", "second")));
  EXPECT_TRUE(std::isnan(Gauge(s, "vllm:kv_cache_usage_perc", "second")));
  EXPECT_EQ(Gauge(s, "vllm:num_requests_waiting", "default"), 0);
}

TEST_F(LoadSignalsTest, InferenceCallsCarryTheRuntimesLoadReport) {
  grpc::ClientContext tokenize_context;
  v1::TokenizeRequest tokenize;
  tokenize.set_text("Once upon a time");
  v1::TokenizeResponse ids;
  ASSERT_TRUE(
      server_->inference().Tokenize(&tokenize_context, tokenize, &ids).ok());

  const GrpcurlCall generate = CallWithGrpcurl(
      *server_, "ggufd.v1.Inference/Generate",
      R"({"text": "Once upon a time", "stopping": {"max_tokens": 8,)"
      R"( "ignore_eos": true}})");
  ASSERT_EQ(generate.exit_code, 0) << generate.out;
  ASSERT_TRUE(generate.report.has_value()) << generate.out;
  const OrcaLoadReport& report = *generate.report;
  // What the call cost.
  EXPECT_EQ(report.request_cost().at("completion_tokens"), 8);
  EXPECT_EQ(report.request_cost().at("prompt_tokens"), ids.ids_size());
  EXPECT_LE(report.request_cost().at("cached_tokens"), ids.ids_size());
  // The runtime: nothing waits now; it has worked (the model load and this
  // generation) and finished requests.
  EXPECT_EQ(report.named_metrics().at("queue_depth"), 0);
  EXPECT_EQ(report.named_metrics().at("queue_capacity"), 2);
  EXPECT_EQ(report.utilization().at("queue"), 0);
  EXPECT_GE(report.utilization().at("kv_cache"), 0);
  EXPECT_LE(report.utilization().at("kv_cache"), 1);
  EXPECT_GT(report.application_utilization(), 0);
  EXPECT_LE(report.application_utilization(), 1);
  EXPECT_EQ(report.cpu_utilization(), report.application_utilization());
  EXPECT_GT(report.rps_fractional(), 0);

  const GrpcurlCall unary = CallWithGrpcurl(
      *server_, "ggufd.v1.Inference/Detokenize", R"({"ids": [1, 2, 3]})");
  ASSERT_EQ(unary.exit_code, 0) << unary.out;
  ASSERT_TRUE(unary.report.has_value()) << unary.out;
  EXPECT_EQ(unary.report->named_metrics().at("queue_capacity"), 2);
  EXPECT_TRUE(unary.report->request_cost().empty());
  EXPECT_GT(unary.report->rps_fractional(), 0);

  // A call that reaches no runtime has no runtime to report on.
  const GrpcurlCall missing =
      CallWithGrpcurl(*server_, "ggufd.v1.Inference/Tokenize",
                      R"({"text": "Once", "runtime": "nope"})");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_FALSE(missing.report.has_value()) << missing.out;
}

TEST_F(LoadSignalsTest, ARefusalReportsTheFullQueue) {
  std::vector<std::thread> queued = FillTheQueue();
  ASSERT_TRUE(Eventually(
      [&] { return Status(*server_, "default").queue_depth() == 2; }));
  const GrpcurlCall full = CallWithGrpcurl(
      *server_, "ggufd.v1.Inference/Generate", R"({"text": "Once"})");
  EXPECT_NE(full.exit_code, 0);
  EXPECT_NE(full.out.find("ResourceExhausted"), std::string::npos) << full.out;
  // Trailers-only, and still the report: a balancer learns at once.
  ASSERT_TRUE(full.report.has_value()) << full.out;
  EXPECT_EQ(full.report->named_metrics().at("queue_depth"), 2);
  EXPECT_EQ(full.report->named_metrics().at("running"), 1);
  EXPECT_EQ(full.report->utilization().at("queue"), 1);
  EXPECT_TRUE(full.report->request_cost().empty());
  Resume(*server_);
  for (auto& t : queued) t.join();
}

}  // namespace
}  // namespace ggufd::testing
