// Causal multi-head attention with grouped KV heads (Vaswani et al. 2017;
// GQA: Ainslie et al. 2023) over the KV cache.
#ifndef GGUFD_RUNTIME_MODEL_ATTENTION_H_
#define GGUFD_RUNTIME_MODEL_ATTENTION_H_

#include <cstdint>

#include "runtime/model/kv_cache.h"
#include "runtime/model/model_config.h"
#include "runtime/model/vec_ops.h"
#include "runtime/tensor/thread_pool.h"

namespace ggufd::model {

struct AttentionScratch {
  float* scores;  // [pool size x kMaxQueries x n_ctx]
  float* q_head;  // [pool size x kMaxQueries x head_dim]
};

// Writes K and V rows of n tokens ([n x kv_dim] each) into `layer` of the
// cache at positions n_past .. n_past + n - 1.
void StoreKv(KvCache& cache, int layer, int64_t n_past, int n, int kv_dim,
             const float* k, const float* v, const VecOps& ops);

// For query token t < n (at position n_past + t) and head h:
//   out[t][h] = softmax(q[t][h] . K[0..pos][h / group] / sqrt(head_dim)) . V
// The cache must already hold positions 0 .. n_past + n - 1. Every score
// (one row's dot) and every output element (one column's sum) is computed
// whole by one thread, however the work is split, so results do not depend
// on the pool.
// With an F16 cache, q and the probabilities are rounded to F16 first, as
// llama.cpp's matrix products against an F16 cache do.
// With `seq_start` (one entry per query token) token t attends only from
// position seq_start[t] on: independent sequences packed in one cache.
void Attention(const ModelConfig& config, const KvCache& cache, int layer,
               const float* q, int n, int64_t n_past, float* out,
               const AttentionScratch& scratch, const VecOps& ops,
               tensor::ThreadPool& pool, const int32_t* seq_start = nullptr);

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_ATTENTION_H_
