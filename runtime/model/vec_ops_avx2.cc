// Attention kernels for AVX2 + FMA + F16C. This file alone is compiled with
// those -m flags; it is only called when the CPU has them. It includes no
// inline functions shared with baseline code (such as tensor/fp16.h): the
// linker could keep this file's AVX2 copy for every caller.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "runtime/model/vec_ops.h"

namespace ggufd::model {
namespace {

float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
__m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
float Load1(const float* p) { return *p; }
float Load1(const uint16_t* p) { return _cvtsh_ss(*p); }

template <typename T>
void DotRows(const float* q, const uint8_t* rows, size_t stride, int n_rows,
             int dim, float scale, float* out) {
  for (int r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(rows + r * stride);
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= dim; i += 16) {
      acc0 = _mm256_fmadd_ps(Load8(q + i), Load8(row + i), acc0);
      acc1 = _mm256_fmadd_ps(Load8(q + i + 8), Load8(row + i + 8), acc1);
    }
    for (; i + 8 <= dim; i += 8) {
      acc0 = _mm256_fmadd_ps(Load8(q + i), Load8(row + i), acc0);
    }
    float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
    for (; i < dim; ++i) s += q[i] * Load1(row + i);
    out[r] = s * scale;
  }
}

// Sums rows into `kBlocks` accumulators of 8 values held in registers, for
// the dims [i0, i0 + 8 * kBlocks).
template <typename T, int kBlocks>
void WeightedSumBlock(const float* w, const uint8_t* rows, size_t stride,
                      int n_rows, int i0, float* out) {
  __m256 acc[kBlocks];
  for (int b = 0; b < kBlocks; ++b) acc[b] = _mm256_setzero_ps();
  for (int r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(rows + r * stride) + i0;
    const __m256 wr = _mm256_set1_ps(w[r]);
    for (int b = 0; b < kBlocks; ++b) {
      acc[b] = _mm256_fmadd_ps(wr, Load8(row + 8 * b), acc[b]);
    }
  }
  for (int b = 0; b < kBlocks; ++b) _mm256_storeu_ps(out + i0 + 8 * b, acc[b]);
}

template <typename T>
void WeightedSum(const float* w, const uint8_t* rows, size_t stride, int n_rows,
                 int dim, float* out) {
  int i = 0;
  for (; i + 64 <= dim; i += 64) {
    WeightedSumBlock<T, 8>(w, rows, stride, n_rows, i, out);
  }
  for (; i + 8 <= dim; i += 8) {
    WeightedSumBlock<T, 1>(w, rows, stride, n_rows, i, out);
  }
  for (; i < dim; ++i) {
    float s = 0;
    for (int r = 0; r < n_rows; ++r) {
      s += w[r] * Load1(reinterpret_cast<const T*>(rows + r * stride) + i);
    }
    out[i] = s;
  }
}

void ToF16(const float* x, uint16_t* y, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(y + i),
        _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void RoundF16(float* x, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(
        x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
                                               _MM_FROUND_TO_NEAREST_INT)));
  }
  for (; i < n; ++i)
    x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

}  // namespace

const VecOps& Avx2VecOps() {
  static constexpr VecOps kOps = {DotRows<float>,
                                  DotRows<uint16_t>,
                                  WeightedSum<float>,
                                  WeightedSum<uint16_t>,
                                  ToF16,
                                  RoundF16};
  return kOps;
}

}  // namespace ggufd::model
