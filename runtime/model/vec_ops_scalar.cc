// Portable attention kernels, and the dispatch between implementations.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "runtime/model/vec_ops.h"
#include "runtime/tensor/fp16.h"

namespace ggufd::model {
namespace {

float Load(const float* p, int i) { return p[i]; }
float Load(const uint16_t* p, int i) { return tensor::Fp16ToFp32(p[i]); }

// Four partial sums let the compiler overlap the additions.
template <typename T>
void DotRows(const float* q, const uint8_t* rows, size_t stride, int n_rows,
             int dim, float scale, float* out) {
  for (int r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(rows + r * stride);
    float s[4] = {0, 0, 0, 0};
    int i = 0;
    for (; i + 4 <= dim; i += 4) {
      for (int j = 0; j < 4; ++j) s[j] += q[i + j] * Load(row, i + j);
    }
    for (; i < dim; ++i) s[0] += q[i] * Load(row, i);
    out[r] = ((s[0] + s[1]) + (s[2] + s[3])) * scale;
  }
}

template <typename T>
void WeightedSum(const float* w, const uint8_t* rows, size_t stride, int n_rows,
                 int dim, float* out) {
  for (int i = 0; i < dim; ++i) out[i] = 0;
  for (int r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(rows + r * stride);
    for (int i = 0; i < dim; ++i) out[i] += w[r] * Load(row, i);
  }
}

void ToF16(const float* x, uint16_t* y, int n) {
  for (int i = 0; i < n; ++i) y[i] = tensor::Fp32ToFp16(x[i]);
}

void RoundF16(float* x, int n) {
  for (int i = 0; i < n; ++i) {
    x[i] = tensor::Fp16ToFp32(tensor::Fp32ToFp16(x[i]));
  }
}

void SiluMul(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) {
    gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  }
}

void Softmax(float* x, int n) {
  float max = x[0];
  for (int i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace

const VecOps& ScalarVecOps() {
  static constexpr VecOps kOps = {DotRows<float>,
                                  DotRows<uint16_t>,
                                  WeightedSum<float>,
                                  WeightedSum<uint16_t>,
                                  ToF16,
                                  RoundF16,
                                  SiluMul,
                                  DotRows<uint16_t>,
                                  WeightedSum<uint16_t>,
                                  Softmax};
  return kOps;
}

const VecOps& GetVecOps(tensor::Isa isa) {
  if (isa >= tensor::Isa::kAvx512) return Avx512VecOps();
  if (isa >= tensor::Isa::kAvx2) {
    return tensor::IsaSupported(tensor::Isa::kAvx512) ? Avx2VecOps()
                                                      : Avx2OrderVecOps();
  }
  return ScalarVecOps();
}

}  // namespace ggufd::model
