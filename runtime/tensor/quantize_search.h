// The scale searches shared by the reference quantizers (ggml-quants.c's
// nearest_int, make_qx_quants, make_q3_quants, make_qkx2_quants). Byte-exact
// agreement with ggml's output needs ggml's float operations in ggml's order,
// so these keep its expression shapes and constants; the translation units
// that include this header are compiled with -ffp-contract=off.
#ifndef GGUFD_RUNTIME_TENSOR_QUANTIZE_SEARCH_H_
#define GGUFD_RUNTIME_TENSOR_QUANTIZE_SEARCH_H_

#include <bit>
#include <cstdint>

namespace ggufd::tensor::quant {

// Groups whose largest magnitude is below this are stored as all zero.
inline constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, valid for |v| <= 2^22: adding 1.5 * 2^23
// leaves the rounded integer in the low mantissa bits (ggml's nearest_int).
// Out-of-range inputs give a meaningless value but never undefined behaviour.
inline int NearestInt(float v) {
  const float shifted = v + 12582912.f;
  const int32_t bits = std::bit_cast<int32_t>(shifted);
  return (bits & 0x007fffff) - 0x00400000;
}

// C's float -> int conversion (truncation toward zero) for values that fit;
// 0 for NaN or values out of int range, where C leaves the result undefined.
inline int TruncToInt(float v) {
  return (v > -2.0e9f && v < 2.0e9f) ? static_cast<int>(v) : 0;
}

// Symmetric quantization of n values to levels -nmax..nmax-1 (stored biased
// by nmax in L). Weighting: rmse_type 1 weights each value by x^2 (qw null)
// or by qw; the scale is refined over 19 trial inverse scales. Returns the
// scale (value = scale * (L - nmax)).
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L, int rmse_type,
                   const float* qw);

// Symmetric 3-bit style quantization with an iterative per-value refinement
// of the x^2-weighted least-squares scale (do_rmse), as ggml's q3_K uses.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric quantization value = scale * L - min with L in 0..nmax: tries
// nstep + 1 inverse scales around nmax / (max - min) and keeps the weighted
// least-squares fit with the smallest weighted error (|err| when use_mad).
// Writes -min to *the_min and returns the scale.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights,
                     uint8_t* L, float* the_min, uint8_t* Laux, float rmin,
                     float rdelta, int nstep, bool use_mad);

}  // namespace ggufd::tensor::quant

#endif  // GGUFD_RUNTIME_TENSOR_QUANTIZE_SEARCH_H_
