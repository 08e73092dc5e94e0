#include "runtime/model/kv_cache.h"

#include <memory>

namespace ggufd::model {

KvCache::KvCache(const ModelConfig& config)
    : type_(config.kv_type),
      n_layer_(config.n_layer),
      n_ctx_(config.n_ctx),
      row_bytes_(static_cast<size_t>(config.kv_dim()) *
                 KvTypeBytes(config.kv_type)),
      layer_bytes_(row_bytes_ * static_cast<size_t>(config.n_ctx)),
      k_(std::make_unique_for_overwrite<uint8_t[]>(layer_bytes_ * n_layer_)),
      v_(std::make_unique_for_overwrite<uint8_t[]>(layer_bytes_ * n_layer_)) {}

}  // namespace ggufd::model
