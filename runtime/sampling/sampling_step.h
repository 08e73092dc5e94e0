// One step of the sampling chain (llama.cpp's llama_sampler interface): it
// transforms or truncates the candidates, may remember accepted tokens, and
// can be reset to its state right after construction.
#ifndef GGUFD_RUNTIME_SAMPLING_SAMPLING_STEP_H_
#define GGUFD_RUNTIME_SAMPLING_SAMPLING_STEP_H_

#include <string_view>

#include "runtime/sampling/token_candidates.h"

namespace ggufd::sampling {

class SamplingStep {
 public:
  virtual ~SamplingStep() = default;

  // A short name for diagnostics ("top-k").
  virtual std::string_view name() const = 0;

  // Transforms `candidates` in place; a final step sets the selection.
  // Must not allocate.
  virtual void Apply(TokenCandidates& candidates) = 0;

  // Tells the step that `token` entered the context (prompt or generated).
  virtual void Accept(TokenId /*token*/) {}

  // Forgets accepted tokens and restarts any random sequence.
  virtual void Reset() {}
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_SAMPLING_STEP_H_
