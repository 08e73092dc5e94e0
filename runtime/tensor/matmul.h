// Matrix products of quantized weights with float activations: the one entry
// point the forward pass uses. Activations are converted once per call to the
// block type the weight type pairs with (q8_0, q8_1, q8_K, f16, bf16 or f32,
// as the reference does), then each output is an integer (or float) dot
// product computed by exactly one thread in a fixed order, so results do not
// depend on the thread count.
#ifndef GGUFD_RUNTIME_TENSOR_MATMUL_H_
#define GGUFD_RUNTIME_TENSOR_MATMUL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/tensor/isa.h"
#include "runtime/tensor/tensor_type.h"
#include "runtime/tensor/thread_pool.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {

// Which kernels compute a product; the first set one of decode, panels,
// panel does (else the repacked order's or vec_dot's per-output kernels).
struct ProductPlan {
  const RepackedOrder* repacked = nullptr;  // type_traits.h
  MatDecodeFn decode = nullptr;             // from the decode panels
  MatDecodeFn decode_gemm = nullptr;  // its tokens before the grouped split
  MatPanelsFn panels = nullptr;       // from the decode panels
  MatPanelFn panel = nullptr;         // from the file layout
};

// Everything MatMul looks up in the type table for one weight at one
// instruction-set level: resolved once, when the weight is loaded
// (ResolveKernels), rather than on every product.
struct WeightKernels {
  Isa isa = Isa::kScalar;
  const uint8_t* panels = nullptr;  // the WeightView::panels resolved for
  FromFloatFn from_float = nullptr;
  FromFloatFn grouped_from_float = nullptr;  // a repacked order's gemm rows
  VecDotFn dot = nullptr;
  MatTileFn tile = nullptr;
  ProductPlan few;   // products of up to a couple of tokens (decoding)
  ProductPlan many;  // longer products (prompts)
};

// A 2-D weight: `rows` rows of `cols` values each, row-major, rows
// `row_bytes` apart (GGUF: cols = ne0, rows = ne1).
struct WeightView {
  TensorType type = TensorType::kF32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;
  // False for a matrix llama.cpp keeps in its plain CPU buffer although its
  // type and shape could be repacked: a tied output, which is also the token
  // embedding its get_rows reads. Then vec_dot's order applies (see
  // type_traits.h, RepackedOrder).
  bool repackable = true;
  // The same matrix packed into decode panels (decode_panels.h), or null.
  // Products of few tokens read it instead of `data`.
  const uint8_t* panels = nullptr;
  // Set by ResolveKernels once the fields above are final; MatMul resolves
  // on the spot when they are missing or for another level (or panels).
  std::optional<WeightKernels> kernels;
};

// Resolves w's kernels at `isa` into w.kernels (call after the panels are
// attached: which kernels apply depends on them).
void ResolveKernels(WeightView& w, Isa isa);

// Reusable storage for converted activations, sized once at load so the
// forward pass never allocates.
class ActivationBuffer {
 public:
  // Room for `max_tokens` rows of up to `max_cols` values in any pairing type.
  void Reserve(int64_t max_tokens, int64_t max_cols);
  // Bytes needed for n_tokens rows of n_cols values (the worst pairing type).
  static size_t BytesFor(int64_t n_tokens, int64_t n_cols);
  uint8_t* data() { return bytes_.data(); }
  size_t capacity() const { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
};

// y[t * w.rows + r] = dot(row r of w, x[t * w.cols ...]) for t < n_tokens.
// Requires CanMatMul(w.type). Uses the kernels of BestIsa().
void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y,
            ActivationBuffer& scratch, ThreadPool& pool);

// The same with the kernels of a given instruction-set level (at most
// BestIsa(); for tests and benchmarks).
void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y,
            ActivationBuffer& scratch, ThreadPool& pool, Isa isa);

// Whether MatMul and DequantizeRow handle weights of `type` (checked by the
// model loader, so the forward pass never meets an unsupported type).
bool CanMatMul(TensorType type);

// How MatMul computes token t of an n_tokens-token product with w at `isa`:
// the activation conversion of that token's row and the dot kernel of each
// of its outputs (vec_dot's, or a repacked order's: type_traits.h,
// RepackedOrder). Every output equals `dot` exactly.
struct OutputKernel {
  FromFloatFn from_float = nullptr;
  VecDotFn dot = nullptr;
};
OutputKernel MatMulOutputKernel(const WeightView& w, int64_t n_tokens,
                                int64_t t, Isa isa);

// The decode-panel kernel MatMul uses for w's products of few tokens at
// `isa` (its repacked order's or vec_dot's), or null: w gets no panels.
MatDecodeFn DecodeKernel(const WeightView& w, Isa isa);

// True when every product MatMul computes with w at `isa` reads w.panels
// only, never w.data (which the caller may then let go of).
bool ReadsOnlyPanels(const WeightView& w, Isa isa);

// Row `row` of w as floats (embedding lookup); out has w.cols values.
void DequantizeRow(const WeightView& w, int64_t row, float* out);

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_MATMUL_H_
