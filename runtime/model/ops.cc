#include "runtime/model/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "runtime/tensor/fp16.h"

namespace ggufd::model {

void RmsNorm(const float* x, const float* w, float* out, int n, float eps) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int i = 0; i < n; ++i) out[i] = (x[i] * scale) * w[i];
}

void BuildRopeTable(int64_t n_pos, int n_rot, float freq_base,
                    const float* freq_divisors, float* cos_out,
                    float* sin_out) {
  const int half = n_rot / 2;
  const float theta_scale =
      std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
  for (int64_t pos = 0; pos < n_pos; ++pos) {
    float theta = static_cast<float>(pos);
    float* c = cos_out + pos * half;
    float* s = sin_out + pos * half;
    for (int i = 0; i < half; ++i) {
      const float angle =
          freq_divisors != nullptr ? theta / freq_divisors[i] : theta;
      c[i] = std::cos(angle);
      s[i] = std::sin(angle);
      theta *= theta_scale;
    }
  }
}

void ApplyRope(float* x, int n_heads, int head_dim, int n_rot, RopeStyle style,
               const float* cos, const float* sin) {
  const int half = n_rot / 2;
  // kNormal pairs (2i, 2i+1); kNeox pairs (i, i + n_rot/2).
  const int stride = style == RopeStyle::kNormal ? 2 : 1;
  const int partner = style == RopeStyle::kNormal ? 1 : half;
  for (int h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (int i = 0; i < half; ++i) {
      float* a = head + i * stride;
      float* b = a + partner;
      const float x0 = *a;
      const float x1 = *b;
      // Fused as llama.cpp's CPU build compiles it (x0's products are the
      // fused ones); the result feeds the F16 K cache, where a last-bit
      // difference can round the other way.
      *a = std::fma(x0, cos[i], -(x1 * sin[i]));
      *b = std::fma(x0, sin[i], x1 * cos[i]);
    }
  }
}

// As ggml's CPU backend: GELU of the input rounded to fp16, itself rounded
// to fp16, read from a table of all 65536 halves (ggml's is built with
// 1 + c * x * x fused: c * x, then one fma; unfused, one entry, x = -1.999,
// comes out one fp16 step away). GELU is taken as 0 below -10 and x above
// 10 by the caller.
const float* GeluTable() {
  static const float* const table = [] {
    constexpr float kSqrt2OverPi = 0.79788456080286535588f;
    constexpr float kCoef = 0.044715f;
    auto* t = new float[65536];
    for (uint32_t bits = 0; bits < 65536; ++bits) {
      const float h = tensor::Fp16ToFp32(static_cast<uint16_t>(bits));
      t[bits] = tensor::Fp16ToFp32(tensor::Fp32ToFp16(
          0.5f * h *
          (1.0f + std::tanh(kSqrt2OverPi * h * std::fma(kCoef * h, h, 1.0f)))));
    }
    return t;
  }();
  return table;
}

void GeluMul(float* gate, const float* up, int n) {
  const float* table = GeluTable();
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    float gelu;
    if (g <= -10.0f) {
      gelu = 0.0f;
    } else if (g >= 10.0f) {
      gelu = g;
    } else {
      gelu = table[tensor::Fp32ToFp16(g)];
    }
    gate[i] = gelu * up[i];
  }
}

void SoftCap(float* x, int n, float cap) {
  for (int i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void AddTo(const float* x, float* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace ggufd::model
