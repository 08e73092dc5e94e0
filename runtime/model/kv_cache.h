// The attention KV cache: for every layer, the K and V rows of every position
// so far, [n_layer][n_ctx][n_kv_head * head_dim], in F16 (llama.cpp's
// default) or F32. The forward pass writes rows n_past.. and reads rows
// 0..pos.
//
// Storage is reserved for the whole context but committed only as rows are
// written (anonymous mappings), so a runtime can keep many sessions' caches,
// each costing what it holds; moving a cache moves its mapping, which is how
// a session's cache is swapped into a RunState without copying.
#ifndef GGUFD_RUNTIME_MODEL_KV_CACHE_H_
#define GGUFD_RUNTIME_MODEL_KV_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "runtime/model/model_config.h"

namespace ggufd::model {

// An anonymous, lazily committed mapping of `size` bytes.
class KvStorage {
 public:
  KvStorage() = default;
  explicit KvStorage(size_t size);
  ~KvStorage();
  KvStorage(KvStorage&& other) noexcept;
  KvStorage& operator=(KvStorage&& other) noexcept;
  KvStorage(const KvStorage&) = delete;
  KvStorage& operator=(const KvStorage&) = delete;

  uint8_t* data() const { return data_; }
  // Gives the pages wholly inside [begin, begin + size) back to the system;
  // they read as zeros afterwards.
  void Release(size_t begin, size_t size);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

class KvCache {
 public:
  explicit KvCache(const ModelConfig& config);
  KvCache(KvCache&&) noexcept = default;
  KvCache& operator=(KvCache&&) noexcept = default;
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
  void set_size(int64_t n) {
    n_used_ = n;
    if (n > n_touched_) n_touched_ = n;
  }
  // Gives back the memory of positions at and after size() that an earlier,
  // longer use committed.
  void ReleaseUnused();
  // Makes this cache hold the first `n` positions of `other` (same shape).
  void CopyPrefix(const KvCache& other, int64_t n);

  // Row of K or V of `layer` at `pos`: kv_dim elements of type().
  uint8_t* k_row(int layer, int64_t pos) {
    return k_.data() + Offset(layer, pos);
  }
  uint8_t* v_row(int layer, int64_t pos) {
    return v_.data() + Offset(layer, pos);
  }
  const uint8_t* k_row(int layer, int64_t pos) const {
    return k_.data() + Offset(layer, pos);
  }
  const uint8_t* v_row(int layer, int64_t pos) const {
    return v_.data() + Offset(layer, pos);
  }
  int n_layer() const { return n_layer_; }
  // Bytes from one position's row to the next.
  size_t row_bytes() const { return row_bytes_; }
  // Bytes reserved for K and V together (the whole context).
  size_t bytes() const {
    return 2 * layer_bytes_ * static_cast<size_t>(n_layer_);
  }
  // Bytes the valid positions occupy.
  size_t used_bytes() const {
    return 2 * row_bytes_ * static_cast<size_t>(n_layer_) *
           static_cast<size_t>(n_used_);
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
  int64_t n_touched_ = 0;  // most positions ever valid (pages committed)
  // Never zero-filled: only rows below size() are ever read.
  KvStorage k_;
  KvStorage v_;
};

}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_KV_CACHE_H_
