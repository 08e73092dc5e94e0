// What a constraint (runtime/grammar) tells the sampler: whether one token
// may be sampled, and how to mask every token that may not.
#ifndef GGUFD_RUNTIME_SAMPLING_TOKEN_FILTER_H_
#define GGUFD_RUNTIME_SAMPLING_TOKEN_FILTER_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/sampling/sampling_params.h"

namespace ggufd::sampling {

class TokenFilter {
 public:
  virtual ~TokenFilter() = default;
  // Whether `token` may be sampled now.
  virtual absl::StatusOr<bool> Allows(TokenId token) = 0;
  // Sets the logit of every token that may not be sampled to -inf; fails
  // when none may.
  virtual absl::Status Mask(absl::Span<float> logits) = 0;
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_TOKEN_FILTER_H_
