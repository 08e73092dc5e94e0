// A loaded model: the mmapped GGUF file and the validated config and weight
// views into it. Immutable after load, so several RunStates (sessions) may
// share one Model.
#ifndef GGUFD_RUNTIME_MODEL_MODEL_H_
#define GGUFD_RUNTIME_MODEL_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/model/model_config.h"
#include "runtime/model/model_weights.h"

namespace ggufd::model {

struct Model {
  // Owns the mapping `weights` views; shared by every Model made from it.
  std::shared_ptr<const gguf::GgufFile> file;
  ModelConfig config;
  ModelWeights weights;
};

// Another instance of a loaded model with its own context (options.n_ctx):
// it shares the mapping, the weights' views and the decode panels.
absl::StatusOr<std::unique_ptr<Model>> ShareModel(const Model& model,
                                                  const ConfigOptions& options);

// Opens `path` and loads it (see the overload).
absl::StatusOr<std::unique_ptr<Model>> LoadModel(
    const std::string& path, const ConfigOptions& options = {});

// Validates the config and every weight of an opened file; errors name the
// offending key or tensor.
absl::StatusOr<std::unique_ptr<Model>> LoadModel(
    std::unique_ptr<gguf::GgufFile> file, const ConfigOptions& options = {});

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_MODEL_H_
