// The vector kernels of attention over the KV cache (and the SwiGLU and
// softmax around it), with a portable scalar version and an AVX2/FMA/F16C
// one, chosen once per forward pass from tensor::BestIsa(). Each takes a run
// of cache rows (`stride` bytes apart, elements F32 or F16 as named) so the
// per-position loop stays inside the kernel. The SIMD versions order their
// float sums as llama.cpp's CPU backend does on the same CPU (its AVX-512
// forms where the CPU has AVX-512, its AVX2 forms where not), so greedy
// decoding agrees with it bit for bit rather than within rounding noise.
#ifndef GGUFD_RUNTIME_MODEL_VEC_OPS_H_
#define GGUFD_RUNTIME_MODEL_VEC_OPS_H_

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/isa.h"

namespace ggufd::model {

// Kernels for up to kMaxQueries query vectors against the same F16 cache
// rows (vec_ops_avx512.cc): each output in the order of the one-query
// kernel it stands for. A prompt's tokens go 16 to a pass: the batched dot
// transposes 16 rows at a time once for all of them.
inline constexpr int kMaxQueries = 16;
struct MultiQueryOps {
  int max_dim = 0;  // head sizes handled (multiples of 16); 0: none
  // out[i][r] = scale * q[i] . row_r, for i < n_q <= kMaxQueries.
  using DotFn = void (*)(int n_q, const float* const* q, const uint8_t* rows,
                         size_t stride, int n_rows, int dim, float scale,
                         float* const* out);
  // out[i][d] = sum_r w[i][r] * row_r[d].
  using SumFn = void (*)(int n_q, const float* const* w, const uint8_t* rows,
                         size_t stride, int n_rows, int dim, float* const* out);
  DotFn dot_rows_f16 = nullptr;
  DotFn dot_rows_f16_batched = nullptr;
  SumFn weighted_sum_f16 = nullptr;
  SumFn weighted_sum_f16_batched = nullptr;
};

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
  // gate[i] = silu(gate[i]) * up[i] (SwiGLU). The AVX2 version computes exp
  // as llama.cpp's CPU backend does (its vectorized approximation, within
  // 1.5 ulp of expf but not always equal to it): the result is requantized
  // to 8 bits for the down projection, where one differing bit can flip a
  // rounding.
  void (*silu_mul)(float* gate, const float* up, int n);
  // The F16 kernels as llama.cpp orders their sums when a batch of query
  // tokens goes through its tiled matmul (tinyBLAS) instead of the per-row
  // dot of decoding; the plain ones above follow that dot (ggml_vec_dot_f16)
  // in the AVX2 version.
  void (*dot_rows_f16_batched)(const float* q, const uint8_t* rows,
                               size_t stride, int n_rows, int dim, float scale,
                               float* out);
  void (*weighted_sum_f16_batched)(const float* w, const uint8_t* rows,
                                   size_t stride, int n_rows, int dim,
                                   float* out);
  // x = softmax(x), with the reference's exp and summation order in the
  // AVX2 version.
  void (*softmax)(float* x, int n);
  // Where set, attention over an F16 cache serves several queries per pass.
  MultiQueryOps multi = {};
  // Where set: gate[i] = gelu(gate[i]) * up[i] with GELU read from `table`
  // (GeluMul's table of all halves: index = half(gate[i])), 0 at or
  // below -10 and x at or above 10.
  void (*gelu_mul)(const float* table, float* gate, const float* up,
                   int n) = nullptr;
};

// The kernels for `isa` (the best level at or below it that has them).
// At the AVX2 level the float orders follow what llama.cpp runs on this
// CPU: its AVX-512 orders where the CPU has AVX-512 (so a capped run
// agrees with an uncapped one), its own AVX2 orders where it does not.
const VecOps& GetVecOps(tensor::Isa isa);

// The implementations; each lives in its own translation unit.
const VecOps& ScalarVecOps();
const VecOps& Avx2VecOps();       // AVX2 code in llama.cpp's AVX-512 orders
const VecOps& Avx2OrderVecOps();  // AVX2 code in llama.cpp's AVX2 orders
const VecOps& Avx512VecOps();     // the AVX2 set plus `multi`
// The multi-query kernels in llama.cpp's AVX2 orders (vec_ops_multi_avx2.cc),
// part of Avx2OrderVecOps.
MultiQueryOps Avx2OrderMultiQueryOps();

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_VEC_OPS_H_
