#include "runtime/model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/model/attention.h"
#include "runtime/model/ops.h"
#include "runtime/model/vec_ops.h"
#include "runtime/tensor/isa.h"
#include "runtime/tensor/matmul.h"
#include "runtime/tensor/op_profile.h"

namespace ggufd::model {
namespace {

// What one layer pass over a chunk needs besides the weights.
struct Pass {
  const ModelConfig& c;
  RunState& s;
  tensor::ThreadPool& pool;
  const VecOps& ops;
  int n;           // tokens in this chunk
  int64_t n_past;  // position of the chunk's first token
  // Where each token's sequence starts (ForwardOptions::seq_start, from the
  // chunk's first token); null: every sequence starts at 0.
  const int32_t* seq_start = nullptr;
};

// Runs fn(t) for every token t < n, split over the pool; fn must only touch
// token t's rows. A few tokens (decoding) run inline: waking the pool would
// cost more than the work.
template <typename Fn>
void ForEachToken(tensor::ThreadPool& pool, int n, Fn fn) {
  constexpr int kMinParallelTokens = 4;
  if (n < kMinParallelTokens) {
    for (int t = 0; t < n; ++t) fn(t);
    return;
  }
  pool.ParallelFor(n, [&](int64_t begin, int64_t end, int /*thread*/) {
    for (int64_t t = begin; t < end; ++t) fn(static_cast<int>(t));
  });
}

float* Row(std::vector<float>& v, int t, int width) {
  return v.data() + static_cast<size_t>(t) * width;
}

// out = rmsnorm(in) * w, row by row.
void NormRows(const Pass& p, std::vector<float>& in,
              const std::vector<float>& w, std::vector<float>& out, int width) {
  const tensor::OpTimer timer("rmsnorm");
  ForEachToken(p.pool, p.n, [&](int t) {
    RmsNorm(Row(in, t, width), w.data(), Row(out, t, width), width,
            p.c.rms_eps);
  });
}

// "matmul q4_K 2048x5632": type, rows x cols.
std::string MatMulName(const tensor::WeightView& w) {
  return StrCat("matmul ", tensor::TypeInfo(w.type).name, " ", w.rows, "x",
                w.cols);
}

void Project(const Pass& p, const tensor::WeightView& w, std::vector<float>& x,
             std::vector<float>& y) {
  const tensor::OpTimer timer([&] { return MatMulName(w); });
  tensor::MatMul(w, x.data(), p.n, y.data(), p.s.act, p.pool);
}

// y += bias, row by row (no-op when the architecture has no bias).
void AddBias(const Pass& p, const std::vector<float>& bias,
             std::vector<float>& y) {
  if (bias.empty()) return;
  const tensor::OpTimer timer("bias");
  const int width = static_cast<int>(bias.size());
  ForEachToken(p.pool, p.n,
               [&](int t) { AddTo(bias.data(), Row(y, t, width), width); });
}

// Per-head RMSNorm of q and k (QK-norm), then RoPE at each token's position
// (with the sliding-window layers' own base where they have one).
void PositionQk(const Pass& p, const LayerWeights& w, int il) {
  const tensor::OpTimer timer("rope (and qk-norm)");
  const ModelConfig& c = p.c;
  const int half = c.n_rot / 2;
  const bool swa_table = c.is_swa_layer(il) && !p.s.rope_cos_swa.empty();
  const float* cos_table =
      swa_table ? p.s.rope_cos_swa.data() : p.s.rope_cos.data();
  const float* sin_table =
      swa_table ? p.s.rope_sin_swa.data() : p.s.rope_sin.data();
  ForEachToken(p.pool, p.n, [&](int t) {
    float* q = Row(p.s.q, t, c.q_dim());
    float* k = Row(p.s.k, t, c.kv_dim());
    if (!w.q_norm.empty()) {
      for (int h = 0; h < c.n_head; ++h) {
        float* head = q + h * c.head_dim;
        RmsNorm(head, w.q_norm.data(), head, c.head_dim, c.rms_eps);
      }
      for (int h = 0; h < c.n_kv_head; ++h) {
        float* head = k + h * c.head_dim;
        RmsNorm(head, w.k_norm.data(), head, c.head_dim, c.rms_eps);
      }
    }
    const int64_t start = p.seq_start != nullptr ? p.seq_start[t] : 0;
    const size_t table_row = static_cast<size_t>(p.n_past + t - start) * half;
    const float* cos = cos_table + table_row;
    const float* sin = sin_table + table_row;
    ApplyRope(q, c.n_head, c.head_dim, c.n_rot, c.traits->rope, cos, sin);
    ApplyRope(k, c.n_kv_head, c.head_dim, c.n_rot, c.traits->rope, cos, sin);
  });
}

// x += branch, after the branch's own post-norm where the architecture has
// one (Gemma's sandwich norms).
void Residual(const Pass& p, const std::vector<float>& post_norm) {
  const tensor::OpTimer timer("residual");
  const int width = p.c.n_embd;
  ForEachToken(p.pool, p.n, [&](int t) {
    float* branch = Row(p.s.xb2, t, width);
    if (!post_norm.empty()) {
      RmsNorm(branch, post_norm.data(), branch, width, p.c.rms_eps);
    }
    AddTo(branch, Row(p.s.x, t, width), width);
  });
}

void GateActivation(const Pass& p) {
  const tensor::OpTimer timer("ffn activation");
  const int width = p.c.n_ff;
  const FfnActivation act = p.c.traits->activation;
  ForEachToken(p.pool, p.n, [&](int t) {
    if (act == FfnActivation::kSilu) {
      p.ops.silu_mul(Row(p.s.hb, t, width), Row(p.s.hb2, t, width), width);
    } else if (act == FfnActivation::kGeluTanh && p.ops.gelu_mul != nullptr) {
      p.ops.gelu_mul(GeluTable(), Row(p.s.hb, t, width), Row(p.s.hb2, t, width),
                     width);
    } else {
      GeluMul(Row(p.s.hb, t, width), Row(p.s.hb2, t, width), width);
    }
  });
}

// Appends the chunk's k, v to the cache and attends over it: s.att_out.
void Attend(const Pass& p, int il) {
  const tensor::OpTimer timer("attention");
  RunState& s = p.s;
  StoreKv(s.kv, il, p.n_past, p.n, p.c.kv_dim(), s.k.data(), s.v.data(), p.ops);
  Attention(p.c, s.kv, il, s.q.data(), p.n, p.n_past, s.att_out.data(),
            {.scores = s.att.data(), .q_head = s.q_head.data()}, p.ops, p.pool,
            p.seq_start);
}

// One transformer block on the chunk's residual stream s.x.
void Layer(const Pass& p, const LayerWeights& w, int il) {
  RunState& s = p.s;
  const ModelConfig& c = p.c;
  NormRows(p, s.x, w.attn_norm, s.xb, c.n_embd);  // xb = norm(x)
  Project(p, w.wq, s.xb, s.q);                    // q = Wq xb
  Project(p, w.wk, s.xb, s.k);                    // k = Wk xb
  Project(p, w.wv, s.xb, s.v);                    // v = Wv xb
  AddBias(p, w.bq, s.q);                          // q += bq
  AddBias(p, w.bk, s.k);                          // k += bk
  AddBias(p, w.bv, s.v);                          // v += bv
  PositionQk(p, w, il);                           // q, k = rope(norm(q, k))
  Attend(p, il);                                  // a = softmax(qK')V
  Project(p, w.wo, s.att_out, s.xb2);             // xb2 = Wo a
  Residual(p, w.post_attn_norm);                  // x += xb2
  NormRows(p, s.x, w.ffn_norm, s.xb, c.n_embd);   // xb = norm(x)
  Project(p, w.w_gate, s.xb, s.hb);               // hb = Wgate xb
  Project(p, w.w_up, s.xb, s.hb2);                // hb2 = Wup xb
  GateActivation(p);                              // hb = act(hb) * hb2
  Project(p, w.w_down, s.hb, s.xb2);              // xb2 = Wdown hb
  Residual(p, w.post_ffn_norm);                   // x += xb2
}

// x = token_embd[token] (times sqrt(n_embd) where the architecture says).
void Embed(const Pass& p, const ModelWeights& w,
           absl::Span<const int32_t> tokens) {
  const tensor::OpTimer timer("embedding");
  const int width = p.c.n_embd;
  const float scale = std::sqrt(static_cast<float>(width));
  ForEachToken(p.pool, p.n, [&](int t) {
    float* x = Row(p.s.x, t, width);
    tensor::DequantizeRow(w.token_embd, tokens[t], x);
    if (p.c.traits->embedding_scale) {
      for (int i = 0; i < width; ++i) x[i] *= scale;
    }
  });
}

// logits[first_row + r] = Wout norm(x[t0 + r]) for the chunk's rows
// t0 .. n - 1 (all of them, or only the last).
void Logits(const Pass& p, const ModelWeights& w, int t0, int first_row) {
  RunState& s = p.s;
  const ModelConfig& c = p.c;
  const int rows = p.n - t0;
  // The rows to project are gathered normed at the front of xb.
  {
    const tensor::OpTimer timer("rmsnorm");
    ForEachToken(p.pool, rows, [&](int r) {
      RmsNorm(Row(s.x, t0 + r, c.n_embd), w.output_norm.data(),
              Row(s.xb, r, c.n_embd), c.n_embd, c.rms_eps);
    });
  }
  float* out = Row(s.logits, first_row, c.n_vocab);
  {
    const tensor::OpTimer timer(
        [&] { return StrCat(MatMulName(w.output), " (output)"); });
    tensor::MatMul(w.output, s.xb.data(), rows, out, s.act, p.pool);
  }
  if (c.logit_softcap > 0) {
    SoftCap(out, rows * c.n_vocab, c.logit_softcap);
  }
}

// Hands the final-norm hidden states of the chunk's tokens to `hidden`.
void Hidden(const Pass& p, const ModelWeights& w, int64_t first,
            const ForwardOptions& options) {
  NormRows(p, p.s.x, w.output_norm, p.s.xb, p.c.n_embd);
  options.hidden(first, p.n, p.s.xb.data());
}

absl::Status Validate(const Model& model, const RunState& state,
                      const tensor::ThreadPool& pool,
                      absl::Span<const int32_t> tokens, int64_t n_past,
                      const ForwardOptions& options) {
  const ModelConfig& c = model.config;
  if (tokens.empty())
    return absl::InvalidArgumentError("no tokens to evaluate");
  if (n_past < 0 || n_past > state.kv.size()) {
    return absl::InvalidArgumentError(
        StrCat("n_past ", n_past, " is outside the ", state.kv.size(),
               " positions held in the KV cache"));
  }
  if (static_cast<int64_t>(tokens.size()) > c.n_ctx - n_past) {
    return absl::OutOfRangeError(
        StrCat("context overflow: ", n_past, " + ", tokens.size(),
               " tokens exceed the context length ", c.n_ctx));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.n_vocab) {
      return absl::InvalidArgumentError(
          StrCat("token id ", tokens[i], " at index ", i,
                 " is outside the vocabulary [0, ", c.n_vocab, ")"));
    }
  }
  if (options.want_all_logits &&
      static_cast<int64_t>(tokens.size()) > state.options.max_logit_rows) {
    return absl::InvalidArgumentError(
        StrCat("logits for ", tokens.size(),
               " tokens requested, but the run state "
               "holds ",
               state.options.max_logit_rows, " rows"));
  }
  if (!options.seq_start.empty()) {
    if (options.seq_start.size() != tokens.size()) {
      return absl::InvalidArgumentError(
          StrCat("seq_start has ", options.seq_start.size(), " entries for ",
                 tokens.size(), " tokens"));
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      const int32_t start = options.seq_start[i];
      const int32_t before = i > 0 ? options.seq_start[i - 1] : 0;
      if (start < before || start > n_past + static_cast<int64_t>(i)) {
        return absl::InvalidArgumentError(
            StrCat("seq_start[", i, "] = ", start,
                   " is not a sequence start for position ", n_past + i));
      }
    }
  }
  if (pool.size() > state.options.max_threads) {
    return absl::InvalidArgumentError(StrCat("thread pool of ", pool.size(),
                                             " threads, but the run "
                                             "state was sized for ",
                                             state.options.max_threads));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Forward(const Model& model, RunState& state,
                     tensor::ThreadPool& pool, absl::Span<const int32_t> tokens,
                     int64_t n_past, const ForwardOptions& options) {
  RETURN_IF_ERROR(Validate(model, state, pool, tokens, n_past, options));
  const ModelConfig& c = model.config;
  const ModelWeights& w = model.weights;
  const VecOps& ops = GetVecOps(tensor::BestIsa());
  const int64_t total = static_cast<int64_t>(tokens.size());
  state.kv.Truncate(n_past);
  state.n_logit_rows = 0;
  for (int64_t done = 0; done < total;) {
    if (options.cancelled && options.cancelled()) {
      return absl::CancelledError(
          StrCat("cancelled after ", done, " of ", total, " tokens"));
    }
    const int n = static_cast<int>(
        std::min<int64_t>(state.options.max_batch, total - done));
    const Pass pass{.c = c,
                    .s = state,
                    .pool = pool,
                    .ops = ops,
                    .n = n,
                    .n_past = n_past + done,
                    .seq_start = options.seq_start.empty()
                                     ? nullptr
                                     : options.seq_start.data() + done};
    Embed(pass, w, tokens.subspan(done, n));
    for (int il = 0; il < c.n_layer; ++il) Layer(pass, w.layers[il], il);
    state.kv.set_size(n_past + done + n);
    done += n;
    if (options.hidden) {
      Hidden(pass, w, done - n, options);
    } else if (options.want_all_logits) {
      Logits(pass, w, /*t0=*/0, /*first_row=*/static_cast<int>(done - n));
    } else if (done == total) {
      Logits(pass, w, /*t0=*/n - 1, /*first_row=*/0);
    }
    if (options.progress) options.progress(done, total);
  }
  state.n_logit_rows = options.hidden            ? 0
                       : options.want_all_logits ? static_cast<int>(total)
                                                 : 1;
  return absl::OkStatus();
}

}  // namespace ggufd::model
