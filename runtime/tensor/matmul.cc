#include "runtime/tensor/matmul.h"

#include <algorithm>
#include <cassert>
#include <functional>

#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

// Output rows handed out per work item: a multiple of the tile height, and
// large enough that a thread streams long runs of weight rows.
constexpr int64_t kRowsPerItem = 4 * kMaxTileRows;

// Activation rows below this many values are converted on the calling thread
// (waking the pool would cost more than the conversion).
constexpr int64_t kParallelConvertValues = 1 << 14;

// Computes output rows [r_begin, r_end) for every token.
void MulRows(const WeightView& w, const uint8_t* a, size_t a_stride,
             int64_t n_tokens, float* y, VecDotFn dot, MatTileFn tile,
             int64_t r_begin, int64_t r_end) {
  const size_t y_stride = static_cast<size_t>(w.rows);
  if (tile == nullptr) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[static_cast<size_t>(t) * y_stride + r] =
            dot(w.cols, wr, a + static_cast<size_t>(t) * a_stride);
      }
    }
    return;
  }
  // Each weight tile is loaded once per kMaxTileCols tokens and stays in L1
  // while it meets all tokens; the activations stay in L2.
  for (int64_t r = r_begin; r < r_end; r += kMaxTileRows) {
    const int n_rows =
        static_cast<int>(std::min<int64_t>(kMaxTileRows, r_end - r));
    const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
    for (int64_t t = 0; t < n_tokens; t += kMaxTileCols) {
      const int n_cols =
          static_cast<int>(std::min<int64_t>(kMaxTileCols, n_tokens - t));
      tile(w.cols, wr, w.row_bytes, n_rows,
           a + static_cast<size_t>(t) * a_stride, a_stride, n_cols,
           y + static_cast<size_t>(t) * y_stride + r, y_stride);
    }
  }
}

}  // namespace

size_t ActivationBuffer::BytesFor(int64_t n_tokens, int64_t n_cols) {
  // f32 (4 bytes per value) is the widest pairing format.
  return static_cast<size_t>(n_tokens) * static_cast<size_t>(n_cols) *
         sizeof(float);
}

void ActivationBuffer::Reserve(int64_t max_tokens, int64_t max_cols) {
  const size_t bytes = BytesFor(max_tokens, max_cols);
  if (bytes > bytes_.size()) bytes_.resize(bytes);
}

bool CanMatMul(TensorType type) { return HasKernels(type); }

void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y,
            ActivationBuffer& scratch, ThreadPool& pool) {
  MatMul(w, x, n_tokens, y, scratch, pool, BestIsa());
}

void MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y,
            ActivationBuffer& scratch, ThreadPool& pool, Isa isa) {
  assert(CanMatMul(w.type));
  assert(IsaSupported(isa));
  if (n_tokens <= 0 || w.rows <= 0) return;
  const TypeTraits& traits = Traits(w.type);
  const TypeTraits& act = Traits(traits.vec_dot_type);
  assert(w.cols % traits.block_size == 0 && w.cols % act.block_size == 0);

  // Convert the activations once, into the weight type's pairing format.
  const uint8_t* a = reinterpret_cast<const uint8_t*>(x);
  size_t a_stride = static_cast<size_t>(w.cols) * sizeof(float);
  if (traits.vec_dot_type != TensorType::kF32) {
    a_stride = static_cast<size_t>(w.cols / act.block_size) * act.type_size;
    // Only reached when the caller reserved too little; keeps us correct.
    scratch.Reserve(n_tokens, w.cols);
    uint8_t* buf = scratch.data();
    auto convert = [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) {
        act.from_float(x + static_cast<size_t>(t) * w.cols,
                       buf + static_cast<size_t>(t) * a_stride, w.cols);
      }
    };
    if (n_tokens * w.cols >= kParallelConvertValues) {
      pool.ParallelFor(n_tokens, std::ref(convert));
    } else {
      convert(0, n_tokens, 0);
    }
    a = buf;
  }

  const VecDotFn dot = ResolveVecDot(w.type, isa);
  const MatTileFn tile = ResolveMatTile(w.type, isa);
  const int64_t n_items = (w.rows + kRowsPerItem - 1) / kRowsPerItem;
  // Passed by reference: wrapping the lambda itself in std::function would
  // allocate on every call.
  auto multiply = [&](int64_t begin, int64_t end, int) {
    MulRows(w, a, a_stride, n_tokens, y, dot, tile, begin * kRowsPerItem,
            std::min(w.rows, end * kRowsPerItem));
  };
  pool.ParallelFor(n_items, std::ref(multiply));
}

void DequantizeRow(const WeightView& w, int64_t row, float* out) {
  assert(CanMatMul(w.type) && row >= 0 && row < w.rows);
  Traits(w.type).dequantize_row(w.data + static_cast<size_t>(row) * w.row_bytes,
                                out, w.cols);
}

}  // namespace ggufd::tensor
