// The element-wise and per-row operations of the transformer layer, on one
// token's row at a time. Each follows the arithmetic of llama.cpp's CPU
// backend (ggml) where that changes results, e.g. RMSNorm's double sum and
// RoPE's iterated angle, so logits stay close to the reference.
#ifndef GGUFD_RUNTIME_MODEL_OPS_H_
#define GGUFD_RUNTIME_MODEL_OPS_H_

#include <cstdint>

#include "runtime/model/arch_traits.h"

namespace ggufd::model {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] (Zhang & Sennrich 2019,
// "Root Mean Square Layer Normalization"). out may alias x.
void RmsNorm(const float* x, const float* w, float* out, int n, float eps);

// The RoPE angles of Su et al. 2021 ("RoFormer") for positions
// [0, n_pos): cos/sin[pos * (n_rot/2) + i] of pos * base^(-2i/n_rot) /
// freq_divisors[i] (divisors may be null). The angle is advanced by repeated
// multiplication in float, as ggml's rope cache does.
void BuildRopeTable(int64_t n_pos, int n_rot, float freq_base,
                    const float* freq_divisors, float* cos_out, float* sin_out);

// Rotates the first n_rot values of each of the n_heads heads (head_dim
// apart) of one token at the position whose table rows are cos/sin.
void ApplyRope(float* x, int n_heads, int head_dim, int n_rot, RopeStyle style,
               const float* cos, const float* sin);

// gate[i] = gelu(gate[i]) * up[i] with the tanh approximation of GELU
// (Hendrycks & Gimpel 2016) and ggml's fp16 rounding of its input and output:
// the scalar path (SiLU has VecOps::silu_mul at every ISA).
void GeluMul(float* gate, const float* up, int n);

// GeluMul's GELU values of all 65536 halves, indexed by the input's
// half bits (for VecOps::gelu_mul).
const float* GeluTable();

// x[i] = cap * tanh(x[i] / cap) (Gemma's logit soft-capping).
void SoftCap(float* x, int n, float cap);

// y[i] += x[i]
void AddTo(const float* x, float* y, int n);

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_OPS_H_
