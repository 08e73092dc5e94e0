// The attention KV cache: for every layer, the K and V rows of every position
// so far, [n_layer][n_ctx][n_kv_head * head_dim], in F16 (llama.cpp's
// default) or F32. Allocated once at load; the forward pass writes rows
// n_past.. and reads rows 0..pos.
#ifndef GGUFD_RUNTIME_MODEL_KV_CACHE_H_
#define GGUFD_RUNTIME_MODEL_KV_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/model/model_config.h"

namespace ggufd::model {

class KvCache {
 public:
  explicit KvCache(const ModelConfig& config);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  KvType type() const { return type_; }
  int64_t capacity() const { return n_ctx_; }
  // Positions holding valid K/V (those of the tokens evaluated so far).
  int64_t size() const { return n_used_; }
  // Forgets positions at and after `n` (n <= size()); used to reset and to
  // rewind to a shared prefix.
  void Truncate(int64_t n) {
    if (n < n_used_) n_used_ = n;
  }
  void Reset() { n_used_ = 0; }
  // Marks positions [0, n) valid after a forward pass wrote them.
  void set_size(int64_t n) { n_used_ = n; }

  // Row of K or V of `layer` at `pos`: kv_dim elements of type().
  uint8_t* k_row(int layer, int64_t pos) {
    return k_.get() + Offset(layer, pos);
  }
  uint8_t* v_row(int layer, int64_t pos) {
    return v_.get() + Offset(layer, pos);
  }
  const uint8_t* k_row(int layer, int64_t pos) const {
    return k_.get() + Offset(layer, pos);
  }
  const uint8_t* v_row(int layer, int64_t pos) const {
    return v_.get() + Offset(layer, pos);
  }
  // Bytes from one position's row to the next.
  size_t row_bytes() const { return row_bytes_; }
  // Bytes held by K and V together.
  size_t bytes() const {
    return 2 * layer_bytes_ * static_cast<size_t>(n_layer_);
  }

 private:
  size_t Offset(int layer, int64_t pos) const {
    return static_cast<size_t>(layer) * layer_bytes_ +
           static_cast<size_t>(pos) * row_bytes_;
  }

  KvType type_;
  int n_layer_;
  int64_t n_ctx_;
  size_t row_bytes_;
  size_t layer_bytes_;
  int64_t n_used_ = 0;
  // Not zero-filled: only rows below size() are ever read, so untouched
  // pages of a long context are never committed.
  std::unique_ptr<uint8_t[]> k_;
  std::unique_ptr<uint8_t[]> v_;
};

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_KV_CACHE_H_
