#include "runtime/shared_models.h"

#include <sys/stat.h>

#include <map>
#include <mutex>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd {
namespace {

// A file's identity: replacing the file (a new inode, size or time) makes
// a new model.
using FileKey = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;

struct Registry {
  std::mutex mu;
  std::map<FileKey, std::weak_ptr<const SharedModel>> models;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

std::string DominantType(const gguf::GgufFile& file) {
  uint64_t best_bytes = 0;
  std::string best = "none";
  absl::flat_hash_map<uint32_t, uint64_t> bytes_by_type;
  for (const auto& t : file.tensors()) {
    if (t.n_dims < 2) continue;
    const uint32_t id = static_cast<uint32_t>(t.type);
    const uint64_t total = bytes_by_type[id] += t.n_bytes;
    if (total > best_bytes) {
      best_bytes = total;
      best = tensor::TensorTypeName(id);
    }
  }
  return best;
}

absl::StatusOr<std::shared_ptr<const SharedModel>> Load(
    const std::string& path, const std::function<void(double)>& report) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file,
                   gguf::GgufFile::Open(path));
  report(0.2);
  auto shared = std::make_shared<SharedModel>();
  ASSIGN_OR_RETURN(tokenizer::Tokenizer tok,
                   tokenizer::Tokenizer::FromGguf(*file));
  shared->tokenizer = std::make_unique<tokenizer::Tokenizer>(std::move(tok));
  report(0.4);
  shared->file_type = DominantType(*file);
  for (const auto& t : file->tensors()) {
    shared->parameters += t.n_elements;
    shared->weights_bytes += t.n_bytes;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<model::Model> model,
                   model::LoadModel(std::move(file)));
  if (shared->tokenizer->vocab_size() > model->config.n_vocab) {
    return absl::InvalidArgumentError(StrCat(
        "the tokenizer has ", shared->tokenizer->vocab_size(),
        " tokens but the model's output has only ", model->config.n_vocab));
  }
  shared->fingerprint = session::ModelFingerprint(*model->file);
  shared->model = std::move(model);
  report(0.7);
  return shared;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const SharedModel>> AcquireSharedModel(
    const std::string& path, const std::function<void(double)>& on_progress) {
  auto report = [&](double f) {
    if (on_progress) on_progress(f);
  };
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(StrCat("cannot open ", path));
  }
  const FileKey key{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                    st.st_mtim.tv_nsec};
  Registry& registry = TheRegistry();
  {
    std::lock_guard<std::mutex> lock(registry.mu);
    auto it = registry.models.find(key);
    if (it != registry.models.end()) {
      if (auto live = it->second.lock()) return live;
      registry.models.erase(it);
    }
  }
  // Loaded outside the lock: loads of other files go on meanwhile. Two
  // runtimes racing on one file both load it; the first to finish is kept.
  ASSIGN_OR_RETURN(std::shared_ptr<const SharedModel> loaded,
                   Load(path, report));
  std::lock_guard<std::mutex> lock(registry.mu);
  auto [it, inserted] = registry.models.try_emplace(key, loaded);
  if (!inserted) {
    if (auto live = it->second.lock()) return live;
    it->second = loaded;
  }
  return loaded;
}

}  // namespace ggufd
