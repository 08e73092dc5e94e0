// The batched forward pass of the llama family: n tokens go through each
// layer together (one MatMul per weight per chunk), attend causally to the
// KV cache, and leave logits for the last token (or every token), or hand
// over the final-norm hidden states instead (embeddings).
#ifndef GGUFD_RUNTIME_MODEL_FORWARD_H_
#define GGUFD_RUNTIME_MODEL_FORWARD_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/model/model.h"
#include "runtime/model/run_state.h"
#include "runtime/tensor/thread_pool.h"

namespace ggufd::model {

struct ForwardOptions {
  // Logits for every token (rows 0..n-1 of state.logits) instead of the last
  // token's alone (row 0); needs n <= max_logit_rows.
  bool want_all_logits = false;
  // Checked before each chunk of up to max_batch tokens; when it returns
  // true Forward stops with CancelledError, keeping the chunks already done
  // in the cache.
  std::function<bool()> cancelled;
  // Called after each chunk with the tokens done so far and the total.
  std::function<void(int64_t done, int64_t total)> progress;
  // Several independent sequences packed into one input (a batch of texts
  // to embed): token i attends only to cache positions seq_start[i] .. its
  // own, and its RoPE position counts from seq_start[i], so each sequence
  // sees what it would see alone from position 0. Empty: one sequence that
  // starts at position 0. Otherwise one entry per token, nondecreasing.
  absl::Span<const int32_t> seq_start;
  // Embeddings: when set, no logits are computed (state.logits is left as
  // it was and n_logit_rows is 0); after each chunk this is called with the
  // final-norm hidden states of its n tokens ([n x n_embd], the first being
  // token `first` of the input), valid during the call only.
  std::function<void(int64_t first, int n, const float* rows)> hidden;
};

// Evaluates `tokens` at positions n_past.. (n_past <= cache size: earlier
// cache contents past n_past are discarded), in chunks of max_batch. Refuses
// with OutOfRange when n_past + n would exceed n_ctx, and with
// InvalidArgument for an empty input, an id outside the vocabulary, a pool
// larger than the state was sized for or a malformed seq_start. Results do not
// depend on the pool size. Never allocates.
absl::Status Forward(const Model& model, RunState& state,
                     tensor::ThreadPool& pool, absl::Span<const int32_t> tokens,
                     int64_t n_past, const ForwardOptions& options = {});

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_FORWARD_H_
