// The vector kernels of attention over the KV cache, with a portable scalar
// version and an AVX2/FMA/F16C one, chosen once per forward pass from
// tensor::BestIsa(). Each takes a run of cache rows (`stride` bytes apart,
// elements F32 or F16 as named) so the per-position loop stays inside the
// kernel.
#ifndef GGUFD_RUNTIME_MODEL_VEC_OPS_H_
#define GGUFD_RUNTIME_MODEL_VEC_OPS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/isa.h"

namespace ggufd::model {

struct VecOps {
  // out[r] = scale * sum_i q[i] * row_r[i] for r < n_rows (attention
  // scores q.k).
  void (*dot_rows_f32)(const float* q, const uint8_t* rows, size_t stride,
                       int n_rows, int dim, float scale, float* out);
  void (*dot_rows_f16)(const float* q, const uint8_t* rows, size_t stride,
                       int n_rows, int dim, float scale, float* out);
  // out[i] = sum_r w[r] * row_r[i] for i < dim (probabilities times V).
  void (*weighted_sum_f32)(const float* w, const uint8_t* rows, size_t stride,
                           int n_rows, int dim, float* out);
  void (*weighted_sum_f16)(const float* w, const uint8_t* rows, size_t stride,
                           int n_rows, int dim, float* out);
  // y[i] = half(x[i]), rounded to nearest even.
  void (*to_f16)(const float* x, uint16_t* y, int n);
  // x[i] = float(half(x[i])): the value llama.cpp multiplies after
  // converting an operand of an F16 product.
  void (*round_f16)(float* x, int n);
};

// The kernels for `isa` (the best level at or below it that has them).
const VecOps& GetVecOps(tensor::Isa isa);

// The two implementations; each lives in its own translation unit.
const VecOps& ScalarVecOps();
const VecOps& Avx2VecOps();

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_VEC_OPS_H_
