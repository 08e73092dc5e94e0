// The batched forward pass of the llama family: n tokens go through each
// layer together (one MatMul per weight per chunk), attend causally to the
// KV cache, and leave logits for the last token (or every token).
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
};

// Evaluates `tokens` at positions n_past.. (n_past <= cache size: earlier
// cache contents past n_past are discarded), in chunks of max_batch. Refuses
// with OutOfRange when n_past + n would exceed n_ctx, and with
// InvalidArgument for an empty input, an id outside the vocabulary or a pool
// larger than the state was sized for. Results do not depend on the pool
// size. Never allocates.
absl::Status Forward(const Model& model, RunState& state,
                     tensor::ThreadPool& pool, absl::Span<const int32_t> tokens,
                     int64_t n_past, const ForwardOptions& options = {});

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_FORWARD_H_
