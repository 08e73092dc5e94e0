#include "runtime/model/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>

#include "runtime/model/ops.h"

namespace ggufd::model {
namespace {

// llama.cpp sums a softmax and its V products over the cache from cell 0,
// in SIMD groups (16 values per partial sum of the softmax, 64 per step of
// ggml_vec_dot_f16 on AVX-512), with masked cells weighing 0. Where a
// sliding window starts mid-group, the sums here start at the group's
// boundary below it, the positions before the window masked, so that every
// term lands in the lane and step it has there: the same bits, not just the
// same value up to rounding.
constexpr int64_t kSumAlignment = 64;

// Decoding splits the cache by position and dimension from this many cached
// rows on (below it, a pass per KV head costs less than the two extra waits
// for the pool), kSplitRows rows of scores at a time. One thread splits it
// too: reading each cache row once, for every KV head, decoded SmolLM2 Q8_0
// at 4096 tokens of context at 43.6 tok/s instead of 36.3 (AVX2, Zen 3).
constexpr int64_t kSplitDecodeRows = 512;
constexpr int kSplitRows = 64;

// Sets the scores of the n_masked positions before a window to -inf, which
// the softmax turns into weights of exactly 0.
void MaskScores(float* scores, int n_masked) {
  std::fill(scores, scores + n_masked, -std::numeric_limits<float>::infinity());
}

// One query head of one token against cache positions [from, last], of
// which those before `first` are masked: the scores, their softmax, and the
// probability-weighted sum of V rows.
void AttendOneHead(const KvCache& cache, int layer, size_t kv_offset,
                   int head_dim, float scale, const float* q, int64_t from,
                   int64_t first, int64_t last, bool batched, float* scores,
                   float* out, const VecOps& ops) {
  const int n_pos = static_cast<int>(last - from + 1);
  const uint8_t* k_rows = cache.k_row(layer, from) + kv_offset;
  const uint8_t* v_rows = cache.v_row(layer, from) + kv_offset;
  const size_t stride = cache.row_bytes();
  const bool f16 = cache.type() == KvType::kF16;
  // llama.cpp multiplies a batch of query tokens with a tiled matmul and a
  // single one with row dots; each orders its sums its own way.
  const auto dot_f16 = batched ? ops.dot_rows_f16_batched : ops.dot_rows_f16;
  const auto sum_f16 =
      batched ? ops.weighted_sum_f16_batched : ops.weighted_sum_f16;
  (f16 ? dot_f16 : ops.dot_rows_f32)(q, k_rows, stride, n_pos, head_dim, scale,
                                     scores);
  MaskScores(scores, static_cast<int>(first - from));
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
               tensor::ThreadPool& pool, const int32_t* seq_start) {
  const int head_dim = c.head_dim;
  const int group = c.n_head / c.n_kv_head;
  const bool prescale = c.traits->query_prescale;
  // With prescaled queries the scores are used as they come.
  const float score_scale = prescale ? 1.0f : c.attention_scale;
  const bool f16 = cache.type() == KvType::kF16;
  const bool batched = n > 1;
  const size_t kv_bytes = KvTypeBytes(cache.type());
  // The query as the product sees it: scaled first where the architecture
  // says, then rounded to F16 for an F16 cache. Returns where it is.
  auto prepare_query = [&](int h, int t, float* q_head) -> const float* {
    const float* q_src = q + static_cast<size_t>(t) * c.q_dim() +
                         static_cast<size_t>(h) * head_dim;
    if (!f16 && !prescale) return q_src;
    if (prescale) {
      for (int i = 0; i < head_dim; ++i) {
        q_head[i] = q_src[i] * c.attention_scale;
      }
    } else {
      std::copy(q_src, q_src + head_dim, q_head);
    }
    if (f16) ops.round_f16(q_head, head_dim);
    return q_head;
  };
  auto out_row = [&](int h, int t) {
    return out + static_cast<size_t>(t) * c.q_dim() +
           static_cast<size_t>(h) * head_dim;
  };
  // The first position query token t attends to: its sequence's start,
  // or later inside a sliding window.
  const bool swa = c.is_swa_layer(layer);
  auto first_of = [&](int t) -> int64_t {
    const int64_t start = seq_start != nullptr ? seq_start[t] : 0;
    const int64_t pos = n_past + t;
    return swa ? std::max<int64_t>(start, pos - c.sliding_window + 1) : start;
  };
  // Where its sums start: the same, or for a window that cuts into its
  // sequence, the alignment boundary below the window (kSumAlignment).
  auto from_of = [&](int t) -> int64_t {
    const int64_t start = seq_start != nullptr ? seq_start[t] : 0;
    const int64_t first = first_of(t);
    if (first == start) return first;
    return std::max(start, first / kSumAlignment * kSumAlignment);
  };
  // The calling thread's scratch: kMaxQueries score rows and queries.
  auto thread_scores = [&](int thread) {
    return scratch.scores + static_cast<size_t>(thread) * kMaxQueries * c.n_ctx;
  };
  auto thread_queries = [&](int thread) {
    return scratch.q_head +
           static_cast<size_t>(thread) * kMaxQueries * head_dim;
  };
  // Head h of token t on its own (one query per pass over the rows).
  auto attend_one = [&](int h, int t, int thread) {
    const int64_t pos = n_past + t;
    const size_t kv_offset =
        static_cast<size_t>((h / group) * head_dim) * kv_bytes;
    AttendOneHead(cache, layer, kv_offset, head_dim, score_scale,
                  prepare_query(h, t, thread_queries(thread)), from_of(t),
                  first_of(t), pos, batched, thread_scores(thread),
                  out_row(h, t), ops);
  };

  const MultiQueryOps& multi = ops.multi;
  const bool use_multi = f16 && multi.max_dim > 0 && head_dim % 16 == 0 &&
                         head_dim <= multi.max_dim && (batched || group > 1);
  if (use_multi && !batched && n_past + 1 - from_of(0) >= kSplitDecodeRows &&
      c.n_head <= pool.size() * kMaxQueries) {
    // One token over a long cache: each KV head's K rows are split by
    // position and its V columns by dimension, so every byte of the cache
    // is read once whatever the number of KV heads. Each score is one row's
    // dot and each output one column's sum, computed whole by one thread:
    // the same bits as one query head per thread.
    const int64_t start = from_of(0);
    const int n_rows = static_cast<int>(n_past - start + 1);
    const int n_masked = static_cast<int>(first_of(0) - start);
    // Head h's query at scratch.q_head + h * head_dim, scores at
    // scratch.scores + h * n_ctx (the scratch holds pool size * kMaxQueries
    // of each).
    auto head_scores = [&](int h) {
      return scratch.scores + static_cast<size_t>(h) * c.n_ctx;
    };
    // With an F16 cache the query is always prepared into its slot.
    for (int h = 0; h < c.n_head; ++h) {
      prepare_query(h, 0, scratch.q_head + static_cast<size_t>(h) * head_dim);
    }
    const size_t stride = cache.row_bytes();
    const int row_chunks = (n_rows + kSplitRows - 1) / kSplitRows;
    // A row chunk's item covers every KV head, so that each cache row is
    // read whole, once.
    auto scores_work = [&](int64_t begin, int64_t end, int) {
      for (int64_t item = begin; item < end; ++item) {
        const int r0 = static_cast<int>(item) * kSplitRows;
        const int nr = std::min(kSplitRows, n_rows - r0);
        for (int kv = 0; kv < c.n_kv_head; ++kv) {
          const uint8_t* k_rows = cache.k_row(layer, start + r0) +
                                  static_cast<size_t>(kv * head_dim) * kv_bytes;
          for (int i0 = 0; i0 < group; i0 += kMaxQueries) {
            const int n_q = std::min(kMaxQueries, group - i0);
            const float* q_run[kMaxQueries];
            float* out_run[kMaxQueries];
            for (int i = 0; i < n_q; ++i) {
              const int h = kv * group + i0 + i;
              q_run[i] = scratch.q_head + static_cast<size_t>(h) * head_dim;
              out_run[i] = head_scores(h) + r0;
            }
            multi.dot_rows_f16(n_q, q_run, k_rows, stride, nr, head_dim,
                               score_scale, out_run);
          }
        }
      }
    };
    pool.ParallelFor(row_chunks, std::ref(scores_work));
    auto softmax_work = [&](int64_t begin, int64_t end, int) {
      for (int64_t h = begin; h < end; ++h) {
        float* s = head_scores(static_cast<int>(h));
        MaskScores(s, n_masked);
        ops.softmax(s, n_rows);
        ops.round_f16(s, n_rows);
      }
    };
    pool.ParallelFor(c.n_head, std::ref(softmax_work));
    const int cols = head_dim % 32 == 0 ? 32 : 16;
    const int col_chunks = head_dim / cols;
    auto sums_work = [&](int64_t begin, int64_t end, int) {
      for (int64_t item = begin; item < end; ++item) {
        const int kv = static_cast<int>(item / col_chunks);
        const int d0 = static_cast<int>(item % col_chunks) * cols;
        const uint8_t* v_rows =
            cache.v_row(layer, start) +
            static_cast<size_t>(kv * head_dim + d0) * kv_bytes;
        for (int i0 = 0; i0 < group; i0 += kMaxQueries) {
          const int n_q = std::min(kMaxQueries, group - i0);
          const float* w_run[kMaxQueries];
          float* out_run[kMaxQueries];
          for (int i = 0; i < n_q; ++i) {
            const int h = kv * group + i0 + i;
            w_run[i] = head_scores(h);
            out_run[i] = out_row(h, 0) + d0;
          }
          multi.weighted_sum_f16(n_q, w_run, v_rows, stride, n_rows, cols,
                                 out_run);
        }
      }
    };
    pool.ParallelFor(static_cast<int64_t>(c.n_kv_head) * col_chunks,
                     std::ref(sums_work));
    return;
  }

  // Several queries per pass over the cache rows: the queries of a run
  // that start at the same position (always, without a sliding window)
  // share the rows up to the last one's position.
  if (use_multi) {
    // A prompt batch gives each work item a run of kMaxQueries tokens of
    // one head; decoding gives it query heads of one KV head, fewer than
    // kMaxQueries where there are too few KV heads to keep every thread
    // busy (but two, to still share a pass over the rows).
    int per_item = kMaxQueries;
    if (!batched) {
      const int splits =
          std::max(1, (2 * pool.size() + c.n_kv_head - 1) / c.n_kv_head);
      per_item = std::min(kMaxQueries, std::max(std::min(2, group),
                                                (group + splits - 1) / splits));
    }
    const int per_outer = ((batched ? n : group) + per_item - 1) / per_item;
    const int64_t n_items =
        static_cast<int64_t>(batched ? c.n_head : c.n_kv_head) * per_outer;
    auto work = [&](int64_t begin, int64_t end, int thread) {
      float* scores_base = thread_scores(thread);
      float* q_base = thread_queries(thread);
      for (int64_t item = begin; item < end; ++item) {
        const int outer = static_cast<int>(item / per_outer);
        const int first = static_cast<int>(item % per_outer) * per_item;
        // Query i of the run: (head, token) and its last position.
        int heads[kMaxQueries], tokens[kMaxQueries];
        int n_q = 0;
        for (int i = 0; i < per_item; ++i) {
          const int k = first + i;
          if (batched ? k >= n : k >= group) break;
          heads[n_q] = batched ? outer : outer * group + k;
          tokens[n_q] = batched ? k : 0;
          ++n_q;
        }
        const int kv_head = heads[0] / group;
        const size_t kv_offset =
            static_cast<size_t>(kv_head * head_dim) * kv_bytes;
        const int64_t last = n_past + tokens[n_q - 1];
        const int64_t start = from_of(tokens[0]);
        if (from_of(tokens[n_q - 1]) != start) {
          // The sums' start moves (a new sequence, or a window crossing an
          // alignment boundary) within the run: one query at a time.
          for (int i = 0; i < n_q; ++i) attend_one(heads[i], tokens[i], thread);
          continue;
        }
        const int n_rows = static_cast<int>(last - start + 1);
        const float* qs[kMaxQueries];
        float* scores[kMaxQueries];
        float* outs[kMaxQueries];
        for (int i = 0; i < n_q; ++i) {
          qs[i] = prepare_query(heads[i], tokens[i],
                                q_base + static_cast<size_t>(i) * head_dim);
          scores[i] = scores_base + static_cast<size_t>(i) * c.n_ctx;
          outs[i] = out_row(heads[i], tokens[i]);
        }
        const uint8_t* k_rows = cache.k_row(layer, start) + kv_offset;
        const uint8_t* v_rows = cache.v_row(layer, start) + kv_offset;
        (batched ? multi.dot_rows_f16_batched : multi.dot_rows_f16)(
            n_q, qs, k_rows, cache.row_bytes(), n_rows, head_dim, score_scale,
            scores);
        for (int i = 0; i < n_q; ++i) {
          // A query's own positions; the later ones of the run weigh 0,
          // which adds nothing to its sums.
          const int n_pos = static_cast<int>(n_past + tokens[i] - start + 1);
          MaskScores(scores[i], static_cast<int>(first_of(tokens[i]) - start));
          ops.softmax(scores[i], n_pos);
          ops.round_f16(scores[i], n_pos);
          std::fill(scores[i] + n_pos, scores[i] + n_rows, 0.0f);
        }
        (batched ? multi.weighted_sum_f16_batched : multi.weighted_sum_f16)(
            n_q, scores, v_rows, cache.row_bytes(), n_rows, head_dim, outs);
      }
    };
    pool.ParallelFor(n_items, std::ref(work));
    return;
  }

  // Work item i is head i / n, token i % n: a contiguous split hands each
  // thread whole heads, whose causal costs are alike.
  auto work = [&](int64_t begin, int64_t end, int thread) {
    for (int64_t i = begin; i < end; ++i) {
      attend_one(static_cast<int>(i / n), static_cast<int>(i % n), thread);
    }
  };
  // By reference: a std::function holding the whole closure would allocate.
  pool.ParallelFor(static_cast<int64_t>(c.n_head) * n, std::ref(work));
}

}  // namespace ggufd::model
