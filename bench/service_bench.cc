// Service-level speed: what serving through gRPC costs compared with calling
// the Runtime in-process, on the same model, request and thread count.
//   1. time to first token and decode tokens/s, in-process vs through a
//      running `ggufd serve` (the streaming overhead ratio);
//   2. requests/s for short generations from N concurrent clients (each its
//      own channel) vs the same requests run back to back in-process, which is
//      the ceiling for one runtime that runs one operation at a time.
// bench/service_vs_inprocess.sh starts the server and runs this.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "ggufd/v1/inference.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "runtime/runtime.h"

namespace ggufd {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

struct Config {
  std::string server;
  std::string model;
  std::string prompt =
      "Once upon a time, in a small village at the edge of a forest, there "
      "lived";
  int threads = 1;
  int tokens = 64;
  int runs = 5;
  int clients = 8;
  int short_tokens = 8;
  double seconds = 10;
};

// One streamed generation, as a client sees it.
struct Sample {
  double ttft_ms = 0;       // request start to the first token
  double decode_tok_s = 0;  // tokens after the first / time after the first
  int tokens = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

// Greedy with EOS ignored, and no KV reuse, so every run does the same work.
GenerateRequest InProcessRequest(const Config& c, int tokens) {
  GenerateRequest r;
  r.prompt = c.prompt;
  r.sampling.temperature = 0;
  r.stopping.max_tokens = tokens;
  r.stopping.ignore_eos = true;
  r.reuse_cache = false;
  return r;
}

v1::GenerateRequest GrpcRequest(const Config& c, int tokens) {
  v1::GenerateRequest r;
  r.set_text(c.prompt);
  r.mutable_sampling()->set_temperature(0);
  r.mutable_stopping()->set_max_tokens(tokens);
  r.mutable_stopping()->set_ignore_eos(true);
  r.mutable_output()->set_token_ids(true);
  r.set_reuse_cache(false);
  return r;
}

// Stamps the arrival of each token on the runtime's thread.
class TimingSink : public GenerationSink {
 public:
  explicit TimingSink(Clock::time_point start) : start_(start) {}
  void OnStarted(const StartedEvent&) override {}
  void OnProgress(const ProgressEvent&) override {}
  void OnToken(const TokenEvent&) override {
    const Clock::time_point now = Clock::now();
    if (tokens_++ == 0) first_ = now;
    last_ = now;
  }
  void OnFinished(const FinishedEvent&) override {}

  Sample Result() const {
    Sample s;
    s.tokens = tokens_;
    s.ttft_ms = MsSince(start_, first_);
    const double decode_ms = MsSince(first_, last_);
    if (tokens_ > 1 && decode_ms > 0) {
      s.decode_tok_s = (tokens_ - 1) * 1000.0 / decode_ms;
    }
    return s;
  }

 private:
  Clock::time_point start_, first_, last_;
  int tokens_ = 0;
};

absl::StatusOr<Sample> RunInProcess(Runtime& runtime,
                                    const GenerateRequest& request) {
  TimingSink sink(Clock::now());
  CancelToken cancel;
  auto result = runtime.Generate(request, sink, cancel);
  if (!result.ok()) return result.status();
  return sink.Result();
}

absl::StatusOr<Sample> RunGrpc(v1::Inference::Stub& stub,
                               const v1::GenerateRequest& request) {
  grpc::ClientContext context;
  const Clock::time_point start = Clock::now();
  auto reader = stub.Generate(&context, request);
  v1::GenerateEvent event;
  Clock::time_point first, last;
  int tokens = 0, first_chunk_tokens = 0;
  while (reader->Read(&event)) {
    if (!event.has_chunk() || event.chunk().tokens_size() == 0) continue;
    const Clock::time_point now = Clock::now();
    if (tokens == 0) {
      first = now;
      first_chunk_tokens = event.chunk().tokens_size();
    }
    tokens += event.chunk().tokens_size();
    last = now;
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::UnavailableError("Generate failed: " + status.error_message());
  }
  Sample s;
  s.tokens = tokens;
  s.ttft_ms = MsSince(start, first);
  const double decode_ms = MsSince(first, last);
  // Tokens that arrived with the first chunk were not decoded after it.
  if (tokens > first_chunk_tokens && decode_ms > 0) {
    s.decode_tok_s = (tokens - first_chunk_tokens) * 1000.0 / decode_ms;
  }
  return s;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  // A connection of its own per client, as separate processes would have.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

struct Summary {
  double ttft_ms = 0;
  double decode_tok_s = 0;
};

Summary Summarize(const std::vector<Sample>& samples) {
  std::vector<double> ttft, decode;
  for (const Sample& s : samples) {
    ttft.push_back(s.ttft_ms);
    decode.push_back(s.decode_tok_s);
  }
  return {Median(ttft), Median(decode)};
}

struct Throughput {
  double requests_per_s = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  int requests = 0;
  int errors = 0;
};

Throughput InProcessThroughput(Runtime& runtime, const Config& c) {
  const GenerateRequest request = InProcessRequest(c, c.short_tokens);
  std::vector<double> latencies;
  Throughput t;
  const Clock::time_point start = Clock::now();
  const auto until = start + std::chrono::duration<double>(c.seconds);
  while (Clock::now() < until) {
    const Clock::time_point begin = Clock::now();
    if (RunInProcess(runtime, request).ok()) {
      latencies.push_back(MsSince(begin, Clock::now()));
    } else {
      ++t.errors;
    }
  }
  t.requests = static_cast<int>(latencies.size());
  t.requests_per_s = t.requests * 1000.0 / MsSince(start, Clock::now());
  t.p50_ms = Percentile(latencies, 0.5);
  t.p95_ms = Percentile(latencies, 0.95);
  return t;
}

Throughput GrpcThroughput(const Config& c) {
  const v1::GenerateRequest request = GrpcRequest(c, c.short_tokens);
  std::vector<std::vector<double>> latencies(c.clients);
  std::atomic<int> errors{0};
  const Clock::time_point start = Clock::now();
  const auto until = start + std::chrono::duration<double>(c.seconds);
  std::vector<std::thread> clients;
  for (int i = 0; i < c.clients; ++i) {
    clients.emplace_back([&, i] {
      auto stub = v1::Inference::NewStub(NewChannel(c.server));
      while (Clock::now() < until) {
        const Clock::time_point begin = Clock::now();
        if (RunGrpc(*stub, request).ok()) {
          latencies[i].push_back(MsSince(begin, Clock::now()));
        } else {
          ++errors;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const double elapsed_ms = MsSince(start, Clock::now());
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Throughput t;
  t.requests = static_cast<int>(all.size());
  t.errors = errors.load();
  t.requests_per_s = t.requests * 1000.0 / elapsed_ms;
  t.p50_ms = Percentile(all, 0.5);
  t.p95_ms = Percentile(all, 0.95);
  return t;
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

int Main(int argc, char** argv) {
  Config c;
  bool json = false;
  CLI::App app{"ggufd service benchmark: gRPC vs in-process"};
  app.add_option("--server", c.server, "A running ggufd serve (host:port)")
      ->required();
  app.add_option("--model", c.model, "The GGUF file the server serves")
      ->required();
  app.add_option("--threads", c.threads, "Compute threads (as the server)");
  app.add_option("--tokens", c.tokens, "Tokens per latency run");
  app.add_option("--runs", c.runs, "Latency runs per side (median reported)");
  app.add_option("--clients", c.clients, "Concurrent gRPC clients");
  app.add_option("--short-tokens", c.short_tokens,
                 "Tokens per request in the throughput phase");
  app.add_option("--seconds", c.seconds, "Length of each throughput phase");
  app.add_flag("--json", json, "One JSON object instead of a table");
  CLI11_PARSE(app, argc, argv);

  Runtime runtime;
  LoadOptions load;
  load.threads = c.threads;
  if (absl::Status s = runtime.Load(c.model, load); !s.ok()) {
    std::fprintf(stderr, "service_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  auto stub = v1::Inference::NewStub(NewChannel(c.server));

  // Warm both sides once (page cache, thread pools, connection).
  const GenerateRequest in_request = InProcessRequest(c, c.tokens);
  const v1::GenerateRequest grpc_request = GrpcRequest(c, c.tokens);
  if (auto s = RunInProcess(runtime, in_request); !s.ok()) {
    std::fprintf(stderr, "service_bench: %s\n", s.status().ToString().c_str());
    return 1;
  }
  if (auto s = RunGrpc(*stub, grpc_request); !s.ok()) {
    std::fprintf(stderr, "service_bench: %s\n", s.status().ToString().c_str());
    return 1;
  }

  // Alternate the sides so drifting machine load hits both alike.
  std::vector<Sample> in_samples, grpc_samples;
  for (int i = 0; i < c.runs; ++i) {
    auto a = RunInProcess(runtime, in_request);
    auto b = RunGrpc(*stub, grpc_request);
    if (!a.ok() || !b.ok()) {
      std::fprintf(stderr, "service_bench: a latency run failed\n");
      return 1;
    }
    in_samples.push_back(*a);
    grpc_samples.push_back(*b);
  }
  const Summary in = Summarize(in_samples);
  const Summary over = Summarize(grpc_samples);

  const Throughput in_tp = InProcessThroughput(runtime, c);
  // Its memory and threads stay out of the server's way from here on.
  if (absl::Status s = runtime.Release(); !s.ok()) {
    std::fprintf(stderr, "service_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  const Throughput grpc_tp = GrpcThroughput(c);

  if (json) {
    nlohmann::json j = {
        {"model", c.model},
        {"threads", c.threads},
        {"tokens", c.tokens},
        {"runs", c.runs},
        {"in_process",
         {{"ttft_ms", in.ttft_ms}, {"decode_tok_s", in.decode_tok_s}}},
        {"grpc",
         {{"ttft_ms", over.ttft_ms}, {"decode_tok_s", over.decode_tok_s}}},
        {"ttft_ratio", Ratio(over.ttft_ms, in.ttft_ms)},
        {"decode_ratio", Ratio(over.decode_tok_s, in.decode_tok_s)},
        {"throughput",
         {{"clients", c.clients},
          {"short_tokens", c.short_tokens},
          {"seconds", c.seconds},
          {"in_process_rps", in_tp.requests_per_s},
          {"grpc_rps", grpc_tp.requests_per_s},
          {"rps_ratio", Ratio(grpc_tp.requests_per_s, in_tp.requests_per_s)},
          {"grpc_p50_ms", grpc_tp.p50_ms},
          {"grpc_p95_ms", grpc_tp.p95_ms},
          {"grpc_requests", grpc_tp.requests},
          {"grpc_errors", grpc_tp.errors}}}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("model %s, %d thread(s), %d tokens, median of %d runs\n",
                c.model.c_str(), c.threads, c.tokens, c.runs);
    std::printf(
        "| | in-process | gRPC | gRPC / in-process |\n|---|---|---|---|\n");
    std::printf("| time to first token (ms) | %.2f | %.2f | %.3f |\n",
                in.ttft_ms, over.ttft_ms, Ratio(over.ttft_ms, in.ttft_ms));
    std::printf("| decode (tokens/s) | %.2f | %.2f | %.3f |\n", in.decode_tok_s,
                over.decode_tok_s, Ratio(over.decode_tok_s, in.decode_tok_s));
    std::printf(
        "| requests/s, %d-token requests (%d gRPC clients vs back to back) | "
        "%.2f | %.2f | %.3f |\n",
        c.short_tokens, c.clients, in_tp.requests_per_s, grpc_tp.requests_per_s,
        Ratio(grpc_tp.requests_per_s, in_tp.requests_per_s));
    std::printf(
        "gRPC latency under load: p50 %.1f ms, p95 %.1f ms, %d requests, "
        "%d errors\n",
        grpc_tp.p50_ms, grpc_tp.p95_ms, grpc_tp.requests, grpc_tp.errors);
  }
  return grpc_tp.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ggufd

int main(int argc, char** argv) { return ggufd::Main(argc, argv); }
