#include "runtime/model/kv_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <utility>

namespace ggufd::model {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

KvStorage::KvStorage(size_t size) : size_(size) {
  if (size == 0) return;
  // NORESERVE: a cache reserves a whole context but commits what it holds,
  // so many sessions' reservations must not count against overcommit.
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<uint8_t*>(p);
}

KvStorage::~KvStorage() {
  if (data_ != nullptr) munmap(data_, size_);
}

KvStorage::KvStorage(KvStorage&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

KvStorage& KvStorage::operator=(KvStorage&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void KvStorage::Release(size_t begin, size_t size) {
  const size_t page = PageSize();
  const size_t first = (begin + page - 1) / page * page;
  const size_t end = std::min(begin + size, size_) / page * page;
  if (data_ == nullptr || first >= end) return;
  madvise(data_ + first, end - first, MADV_DONTNEED);
}

KvCache::KvCache(const ModelConfig& config)
    : type_(config.kv_type),
      n_layer_(config.n_layer),
      n_ctx_(config.n_ctx),
      row_bytes_(static_cast<size_t>(config.kv_dim()) *
                 KvTypeBytes(config.kv_type)),
      layer_bytes_(row_bytes_ * static_cast<size_t>(config.n_ctx)),
      k_(layer_bytes_ * n_layer_),
      v_(layer_bytes_ * n_layer_) {}

void KvCache::ReleaseUnused() {
  if (n_touched_ <= n_used_) return;
  const size_t from = static_cast<size_t>(n_used_) * row_bytes_;
  const size_t size = static_cast<size_t>(n_touched_ - n_used_) * row_bytes_;
  for (int layer = 0; layer < n_layer_; ++layer) {
    const size_t base = static_cast<size_t>(layer) * layer_bytes_;
    k_.Release(base + from, size);
    v_.Release(base + from, size);
  }
  n_touched_ = n_used_;
}

void KvCache::CopyPrefix(const KvCache& other, int64_t n) {
  const size_t size = static_cast<size_t>(n) * row_bytes_;
  for (int layer = 0; layer < n_layer_; ++layer) {
    std::memcpy(k_row(layer, 0), other.k_row(layer, 0), size);
    std::memcpy(v_row(layer, 0), other.v_row(layer, 0), size);
  }
  set_size(n);
}

}  // namespace ggufd::model
