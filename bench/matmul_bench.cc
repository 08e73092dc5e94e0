// MatMul throughput on SmolLM2-135M shapes: the 576 -> 1536 (ffn_up/gate)
// and 1536 -> 576 (ffn_down) projections, for the weight types of Q4_1,
// Q8_0, Q4_0 and Q4_K_M / Q5_K_M models (q4_1, q8_0, q4_0, q5_0, q4_K, q5_K,
// q6_K), as a one-token matvec (decode) and a 512-token matmul (prefill),
// with 1 and 2 threads, at every instruction-set level this CPU supports;
// and the output projections of SmolLM2 (576 -> 49152, which L3 can hold)
// and Gemma 3 (640 -> 262144, which it cannot) as matvecs. The scalar level is
// the in-run reference: compare ratios, not absolute numbers. At the best
// level the weights are in decode panels where their type has them (as a
// model's are), so the other levels show the file layout's kernels.
//
//   matmul_bench --benchmark_filter='q4_1/576x1536'
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/isa.h"
#include "runtime/tensor/matmul.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

// Byte offsets of the half-float scale fields (d, and dmin / m where the
// type has one) inside one block of each benchmarked type.
struct ScaleFields {
  int d = 0;
  int m = -1;
};
ScaleFields ScaleFieldsOf(TensorType type) {
  switch (type) {
    case TensorType::kQ4_1:
    case TensorType::kQ5_1:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
      return {.d = 0, .m = 2};
    case TensorType::kQ6_K:
      return {.d = 208};
    default:
      return {.d = 0};  // q4_0, q5_0, q8_0
  }
}

// Random blocks with realistic scales: every half-float scale set to a small
// finite value (random bits could be NaN or subnormal), quants and packed
// group scales uniformly random.
std::vector<uint8_t> RandomWeight(TensorType type, int64_t rows, int64_t cols) {
  const TypeTraits& traits = Traits(type);
  const size_t n_blocks =
      static_cast<size_t>(rows * cols / traits.layout.block_size);
  std::vector<uint8_t> bytes(n_blocks * traits.layout.type_size);
  std::mt19937 rng(42);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const uint16_t d = Fp32ToFp16(0.01f);
  const uint16_t m = Fp32ToFp16(-0.08f);
  const ScaleFields fields = ScaleFieldsOf(type);
  for (size_t i = 0; i < n_blocks; ++i) {
    uint8_t* block = bytes.data() + i * traits.layout.type_size;
    std::memcpy(block + fields.d, &d, 2);
    if (fields.m >= 0) std::memcpy(block + fields.m, &m, 2);
  }
  return bytes;
}

void BM_MatMul(benchmark::State& state, TensorType type, int64_t cols,
               int64_t rows, int64_t n_tokens, int n_threads, Isa isa) {
  if (!IsaSupported(isa)) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  const std::vector<uint8_t> weight = RandomWeight(type, rows, cols);
  WeightView w{.type = type,
               .data = weight.data(),
               .rows = rows,
               .cols = cols,
               .row_bytes = RowBytes(type, cols)};
  // At the CPU's best level the weights are packed into decode panels as a
  // model's are at load, so the kernels measured are the ones models run.
  AlignedBytes panels;
  if (isa == BestIsa()) panels = AttachDecodePanels(w);
  std::vector<float> x(static_cast<size_t>(n_tokens * cols));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<size_t>(n_tokens * rows));
  ActivationBuffer scratch;
  scratch.Reserve(n_tokens, cols);
  ThreadPool pool(n_threads);
  for (auto _ : state) {
    MatMul(w, x.data(), n_tokens, y.data(), scratch, pool, isa);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(rows * cols * n_tokens);
  state.counters["GFLOPS"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(weight.size()) * 1e-9 *
                             static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// Registers every combination; the scalar level only for decode (its
// 512-token runs take seconds and say nothing new).
const bool kRegistered = [] {
  struct Shape {
    int64_t cols, rows;
  };
  for (TensorType type :
       {TensorType::kQ4_1, TensorType::kQ8_0, TensorType::kQ4_0,
        TensorType::kQ5_0, TensorType::kQ4_K, TensorType::kQ5_K,
        TensorType::kQ6_K}) {
    // The output projections are too big for L2, so their decodes show the
    // memory-bound matvec; Gemma's also overflows a 32 MiB L3.
    for (Shape shape : {Shape{576, 1536}, Shape{1536, 576}, Shape{576, 49152},
                        Shape{640, 262144}}) {
      for (int64_t tokens : {1, 512}) {
        for (int threads : {1, 2}) {
          for (int level = 0; level < kIsaCount; ++level) {
            const Isa isa = static_cast<Isa>(level);
            if (isa == Isa::kScalar && tokens > 1) continue;
            if (shape.rows > 4096 && tokens > 1) continue;
            const std::string name = std::string(Traits(type).layout.name) +
                                     "/" + std::to_string(shape.cols) + "x" +
                                     std::to_string(shape.rows) +
                                     "/tokens:" + std::to_string(tokens) +
                                     "/threads:" + std::to_string(threads) +
                                     "/" + std::string(IsaName(isa));
            benchmark::RegisterBenchmark(name.c_str(), BM_MatMul, type,
                                         shape.cols, shape.rows, tokens,
                                         threads, isa)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
          }
        }
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace ggufd::tensor

BENCHMARK_MAIN();
