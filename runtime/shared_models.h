// The models loaded in this process, shared by file: every runtime that
// loads the same file (same device, inode, size and modification time) uses
// one mapping, one set of decode panels and one tokenizer, and the last
// runtime to let go frees them. Each runtime still makes its own Model
// instance (model::ShareModel) for its own context length.
#ifndef GGUFD_RUNTIME_SHARED_MODELS_H_
#define GGUFD_RUNTIME_SHARED_MODELS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/model/model.h"
#include "runtime/session/session_file.h"
#include "runtime/tokenizer/tokenizer.h"

namespace ggufd {

struct SharedModel {
  // Configured for the model's own context; runtimes share from it.
  std::unique_ptr<const model::Model> model;
  std::unique_ptr<const tokenizer::Tokenizer> tokenizer;
  std::string file_type;  // dominant weight type, e.g. "q4_1"
  uint64_t parameters = 0;
  uint64_t weights_bytes = 0;  // tensor data in the file
  uint64_t fingerprint = 0;    // session::ModelFingerprint
};

// The shared model of `path`, loading it when no runtime holds it now.
// `on_progress` sees fractions in [0, 1] of a load (not called when shared).
// Errors are those of opening and validating the file.
absl::StatusOr<std::shared_ptr<const SharedModel>> AcquireSharedModel(
    const std::string& path, const std::function<void(double)>& on_progress);

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_SHARED_MODELS_H_
