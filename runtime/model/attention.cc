#include "runtime/model/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>

#include "runtime/model/ops.h"

namespace ggufd::model {
namespace {

// One query head of one token against cache positions [first, last]: the
// scores, their softmax, and the probability-weighted sum of V rows.
void AttendOneHead(const KvCache& cache, int layer, size_t kv_offset,
                   int head_dim, float scale, const float* q, int64_t first,
                   int64_t last, bool batched, float* scores, float* out,
                   const VecOps& ops) {
  const int n_pos = static_cast<int>(last - first + 1);
  const uint8_t* k_rows = cache.k_row(layer, first) + kv_offset;
  const uint8_t* v_rows = cache.v_row(layer, first) + kv_offset;
  const size_t stride = cache.row_bytes();
  const bool f16 = cache.type() == KvType::kF16;
  // llama.cpp multiplies a batch of query tokens with a tiled matmul and a
  // single one with row dots; each orders its sums its own way.
  const auto dot_f16 = batched ? ops.dot_rows_f16_batched : ops.dot_rows_f16;
  const auto sum_f16 =
      batched ? ops.weighted_sum_f16_batched : ops.weighted_sum_f16;
  (f16 ? dot_f16 : ops.dot_rows_f32)(q, k_rows, stride, n_pos, head_dim, scale,
                                     scores);
  ops.softmax(scores, n_pos);
  if (f16) ops.round_f16(scores, n_pos);
  (f16 ? sum_f16 : ops.weighted_sum_f32)(scores, v_rows, stride, n_pos,
                                         head_dim, out);
}

}  // namespace

void StoreKv(KvCache& cache, int layer, int64_t n_past, int n, int kv_dim,
             const float* k, const float* v, const VecOps& ops) {
  for (int t = 0; t < n; ++t) {
    const float* k_src = k + static_cast<size_t>(t) * kv_dim;
    const float* v_src = v + static_cast<size_t>(t) * kv_dim;
    uint8_t* k_dst = cache.k_row(layer, n_past + t);
    uint8_t* v_dst = cache.v_row(layer, n_past + t);
    if (cache.type() == KvType::kF16) {
      ops.to_f16(k_src, reinterpret_cast<uint16_t*>(k_dst), kv_dim);
      ops.to_f16(v_src, reinterpret_cast<uint16_t*>(v_dst), kv_dim);
    } else {
      std::memcpy(k_dst, k_src, static_cast<size_t>(kv_dim) * sizeof(float));
      std::memcpy(v_dst, v_src, static_cast<size_t>(kv_dim) * sizeof(float));
    }
  }
}

void Attention(const ModelConfig& c, const KvCache& cache, int layer,
               const float* q, int n, int64_t n_past, float* out,
               const AttentionScratch& scratch, const VecOps& ops,
               tensor::ThreadPool& pool) {
  const int head_dim = c.head_dim;
  const int group = c.n_head / c.n_kv_head;
  const bool prescale = c.traits->query_prescale;
  // With prescaled queries the scores are used as they come.
  const float score_scale = prescale ? 1.0f : c.attention_scale;
  const bool f16 = cache.type() == KvType::kF16;
  // Work item i is head i / n, token i % n: a contiguous split hands each
  // thread whole heads, whose causal costs are alike.
  auto work = [&](int64_t begin, int64_t end, int thread) {
    float* scores = scratch.scores + static_cast<size_t>(thread) * c.n_ctx;
    float* q_head = scratch.q_head + static_cast<size_t>(thread) * head_dim;
    for (int64_t i = begin; i < end; ++i) {
      const int h = static_cast<int>(i / n);
      const int t = static_cast<int>(i % n);
      const int64_t pos = n_past + t;
      const int64_t first =
          c.is_swa_layer(layer)
              ? std::max<int64_t>(0, pos - c.sliding_window + 1)
              : 0;
      const float* q_src = q + static_cast<size_t>(t) * c.q_dim() +
                           static_cast<size_t>(h) * head_dim;
      float* o = out + static_cast<size_t>(t) * c.q_dim() +
                 static_cast<size_t>(h) * head_dim;
      const size_t kv_offset = static_cast<size_t>((h / group) * head_dim) *
                               KvTypeBytes(cache.type());
      // The query as the product sees it: scaled first where the
      // architecture says, then rounded to F16 for an F16 cache.
      if (f16 || prescale) {
        if (prescale) {
          for (int i = 0; i < head_dim; ++i) {
            q_head[i] = q_src[i] * c.attention_scale;
          }
        } else {
          std::copy(q_src, q_src + head_dim, q_head);
        }
        if (f16) ops.round_f16(q_head, head_dim);
      }
      AttendOneHead(cache, layer, kv_offset, head_dim, score_scale,
                    f16 || prescale ? q_head : q_src, first, pos,
                    /*batched=*/n > 1, scores, o, ops);
    }
  };
  // By reference: a std::function holding the whole closure would allocate.
  pool.ParallelFor(static_cast<int64_t>(c.n_head) * n, std::ref(work));
}

}  // namespace ggufd::model
