// Everything a forward pass writes (llama2.c's RunState): the KV cache, the
// activations of one batch of up to max_batch tokens, the RoPE table and the
// logits. All of it is allocated here, once; Forward() never allocates.
//
// Shapes: B = max_batch, T = max_threads, q_dim = n_head * head_dim,
// kv_dim = n_kv_head * head_dim.
#ifndef GGUFD_RUNTIME_MODEL_RUN_STATE_H_
#define GGUFD_RUNTIME_MODEL_RUN_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/model/kv_cache.h"
#include "runtime/model/model.h"
#include "runtime/tensor/matmul.h"

namespace ggufd::model {

struct RunStateOptions {
  // Tokens evaluated together per layer pass; longer inputs run in chunks.
  int max_batch = 512;
  // Rows of logits one Forward may return (want_all_logits needs one per
  // token); the last token's alone needs 1.
  int max_logit_rows = 1;
  // Size of the largest ThreadPool Forward will be called with.
  int max_threads = 1;
};

struct RunState {
  // Sizes every buffer for `model` (which must outlive the state).
  static absl::StatusOr<std::unique_ptr<RunState>> Create(
      const Model& model, const RunStateOptions& options);

  explicit RunState(const Model& model, const RunStateOptions& options);

  // Bytes of the KV cache plus all scratch buffers.
  size_t bytes() const;
  size_t scratch_bytes() const;

  // Forgets every evaluated token.
  void Reset() {
    kv.Reset();
    n_logit_rows = 0;
  }

  // Logits of row r (< n_logit_rows) of the last Forward.
  absl::Span<const float> logits_row(int r) const {
    return {logits.data() + static_cast<size_t>(r) * n_vocab,
            static_cast<size_t>(n_vocab)};
  }

  const RunStateOptions options;
  const int n_vocab;
  KvCache kv;                   // [n_layer][n_ctx][kv_dim]
  std::vector<float> x;         // [B x n_embd] residual stream
  std::vector<float> xb;        // [B x n_embd] normed input of a branch
  std::vector<float> xb2;       // [B x n_embd] output of a branch
  std::vector<float> q;         // [B x q_dim]
  std::vector<float> k;         // [B x kv_dim]
  std::vector<float> v;         // [B x kv_dim]
  std::vector<float> att_out;   // [B x q_dim] attention of every head
  std::vector<float> att;       // [T x kMaxQueries x n_ctx] scores
  std::vector<float> q_head;    // [T x kMaxQueries x head_dim] queries
  std::vector<float> hb;        // [B x n_ff] gate, then act(gate) * up
  std::vector<float> hb2;       // [B x n_ff] up
  std::vector<float> rope_cos;  // [n_ctx x n_rot/2]
  std::vector<float> rope_sin;  // [n_ctx x n_rot/2]
  // The tables of sliding-window layers when their RoPE base differs
  // (Gemma 3); empty otherwise.
  std::vector<float> rope_cos_swa;  // [n_ctx x n_rot/2]
  std::vector<float> rope_sin_swa;  // [n_ctx x n_rot/2]
  std::vector<float> logits;        // [max_logit_rows x n_vocab]
  int n_logit_rows = 0;             // rows of `logits` the last Forward wrote
  tensor::ActivationBuffer act;     // MatMul's converted activations
};

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_RUN_STATE_H_
