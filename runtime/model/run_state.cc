#include "runtime/model/run_state.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "runtime/common/str_cat.h"
#include "runtime/model/ops.h"
#include "runtime/model/vec_ops.h"

namespace ggufd::model {
namespace {

template <typename T>
size_t VectorBytes(const std::vector<T>& v) {
  return v.size() * sizeof(T);
}

size_t Size(int64_t a, int64_t b) { return static_cast<size_t>(a * b); }

}  // namespace

absl::StatusOr<std::unique_ptr<RunState>> RunState::Create(
    const Model& model, const RunStateOptions& options) {
  constexpr int kMaxBatch = 1 << 16;
  constexpr int kMaxThreads = 1024;
  if (options.max_batch < 1 || options.max_batch > kMaxBatch) {
    return absl::InvalidArgumentError(StrCat("max_batch ", options.max_batch,
                                             " is out of range [1, ", kMaxBatch,
                                             "]"));
  }
  if (options.max_logit_rows < 1 ||
      options.max_logit_rows > model.config.n_ctx) {
    return absl::InvalidArgumentError(
        StrCat("max_logit_rows ", options.max_logit_rows,
               " is out of range [1, n_ctx = ", model.config.n_ctx, "]"));
  }
  if (options.max_threads < 1 || options.max_threads > kMaxThreads) {
    return absl::InvalidArgumentError(
        StrCat("max_threads ", options.max_threads, " is out of range [1, ",
               kMaxThreads, "]"));
  }
  return std::make_unique<RunState>(model, options);
}

RunState::RunState(const Model& model, const RunStateOptions& opts)
    : options(opts), n_vocab(model.config.n_vocab), kv(model.config) {
  const ModelConfig& c = model.config;
  const int b = opts.max_batch;
  x.resize(Size(b, c.n_embd));
  xb.resize(Size(b, c.n_embd));
  xb2.resize(Size(b, c.n_embd));
  q.resize(Size(b, c.q_dim()));
  k.resize(Size(b, c.kv_dim()));
  v.resize(Size(b, c.kv_dim()));
  att_out.resize(Size(b, c.q_dim()));
  att.resize(Size(opts.max_threads * kMaxQueries, c.n_ctx));
  q_head.resize(Size(opts.max_threads * kMaxQueries, c.head_dim));
  hb.resize(Size(b, c.n_ff));
  hb2.resize(Size(b, c.n_ff));
  rope_cos.resize(Size(c.n_ctx, c.n_rot / 2));
  rope_sin.resize(Size(c.n_ctx, c.n_rot / 2));
  BuildRopeTable(c.n_ctx, c.n_rot, c.rope_freq_base,
                 model.weights.rope_freqs.empty()
                     ? nullptr
                     : model.weights.rope_freqs.data(),
                 rope_cos.data(), rope_sin.data());
  if (c.sliding_window > 0 && c.rope_freq_base_swa != c.rope_freq_base) {
    rope_cos_swa.resize(rope_cos.size());
    rope_sin_swa.resize(rope_sin.size());
    BuildRopeTable(c.n_ctx, c.n_rot, c.rope_freq_base_swa,
                   model.weights.rope_freqs.empty()
                       ? nullptr
                       : model.weights.rope_freqs.data(),
                   rope_cos_swa.data(), rope_sin_swa.data());
  }
  logits.resize(Size(opts.max_logit_rows, c.n_vocab));
  act.Reserve(b, std::max({c.n_embd, c.q_dim(), c.n_ff}));
}

size_t RunState::scratch_bytes() const {
  return VectorBytes(x) + VectorBytes(xb) + VectorBytes(xb2) + VectorBytes(q) +
         VectorBytes(k) + VectorBytes(v) + VectorBytes(att_out) +
         VectorBytes(att) + VectorBytes(q_head) + VectorBytes(hb) +
         VectorBytes(hb2) + VectorBytes(rope_cos) + VectorBytes(rope_sin) +
         VectorBytes(rope_cos_swa) + VectorBytes(rope_sin_swa) +
         VectorBytes(logits) + act.capacity();
}

size_t RunState::bytes() const { return kv.bytes() + scratch_bytes(); }

}  // namespace ggufd::model
