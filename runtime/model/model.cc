#include "runtime/model/model.h"

#include <memory>
#include <string>
#include <utility>

#include "runtime/common/status_macros.h"

namespace ggufd::model {

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path,
                                                 const ConfigOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file,
                   gguf::GgufFile::Open(path));
  return LoadModel(std::move(file), options);
}

absl::StatusOr<std::unique_ptr<Model>> LoadModel(
    std::unique_ptr<gguf::GgufFile> file, const ConfigOptions& options) {
  auto model = std::make_unique<Model>();
  ASSIGN_OR_RETURN(model->config, LoadModelConfig(*file, options));
  ASSIGN_OR_RETURN(model->weights, LoadModelWeights(*file, model->config));
  model->file = std::move(file);
  return model;
}

absl::StatusOr<std::unique_ptr<Model>> ShareModel(
    const Model& model, const ConfigOptions& options) {
  auto shared = std::make_unique<Model>();
  ASSIGN_OR_RETURN(shared->config, LoadModelConfig(*model.file, options));
  shared->file = model.file;
  shared->weights = model.weights;
  return shared;
}

}  // namespace ggufd::model
