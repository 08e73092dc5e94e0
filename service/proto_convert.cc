#include "service/proto_convert.h"

#include <filesystem>
#include <vector>

#include "runtime/chat/chat_template.h"
#include "runtime/common/str_cat.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

// Bounds on client lists, checked before anything is copied.
constexpr int kMaxLogitBias = 4096;

}  // namespace

absl::StatusOr<sampling::SamplingOverrides> ParseSampling(
    const v1::SamplingParams& in, std::string_view field) {
  if (in.logit_bias().entries_size() > kMaxLogitBias) {
    return InvalidField(StrCat(field, ".logit_bias"),
                        StrCat("at most ", kMaxLogitBias, " entries"));
  }
  sampling::SamplingOverrides out;
  if (in.has_temperature()) out.temperature = in.temperature();
  if (in.has_top_k()) out.top_k = in.top_k();
  if (in.has_top_p()) out.top_p = in.top_p();
  if (in.has_min_p()) out.min_p = in.min_p();
  if (in.has_typical_p()) out.typical_p = in.typical_p();
  if (in.has_min_keep()) out.min_keep = in.min_keep();
  if (in.has_repeat_last_n()) out.repeat_last_n = in.repeat_last_n();
  if (in.has_repeat_penalty()) out.repeat_penalty = in.repeat_penalty();
  if (in.has_presence_penalty()) out.presence_penalty = in.presence_penalty();
  if (in.has_frequency_penalty()) {
    out.frequency_penalty = in.frequency_penalty();
  }
  if (in.has_seed()) out.seed = in.seed();
  if (in.has_logit_bias()) {
    std::vector<sampling::LogitBias>& bias = out.logit_bias.emplace();
    for (const v1::LogitBias& b : in.logit_bias().entries()) {
      bias.push_back({.token = b.token(), .bias = b.bias()});
    }
  }
  // Over the built-in defaults, every value set is checked once here; the
  // bounds that need the vocabulary wait for the runtime.
  absl::Status valid = out.ApplyTo({}).Validate(/*vocab_size=*/0);
  if (!valid.ok()) return InvalidField(ToAbsl(field), valid.message());
  return out;
}

absl::StatusOr<StoppingOverrides> ParseStopping(const v1::StoppingParams& in,
                                                std::string_view field) {
  // ValidateStopping bounds the lists; check their sizes before copying.
  if (in.stop().values_size() > static_cast<int>(kMaxStopStrings) ||
      in.stop_token_ids().ids_size() > static_cast<int>(kMaxStopTokenIds)) {
    return InvalidField(ToAbsl(field),
                        "too many stop strings or stop token ids");
  }
  StoppingOverrides out;
  if (in.has_max_tokens()) out.max_tokens = in.max_tokens();
  if (in.has_stop()) {
    out.stop.emplace(in.stop().values().begin(), in.stop().values().end());
  }
  if (in.has_stop_token_ids()) {
    out.stop_token_ids.emplace(in.stop_token_ids().ids().begin(),
                               in.stop_token_ids().ids().end());
  }
  if (in.has_ignore_eos()) out.ignore_eos = in.ignore_eos();
  absl::Status valid = ValidateStopping(out.ApplyTo({}), /*vocab_size=*/0);
  if (!valid.ok()) return InvalidField(ToAbsl(field), valid.message());
  return out;
}

void ToProto(const sampling::SamplingParams& in, v1::SamplingParams& out) {
  out.set_temperature(in.temperature);
  out.set_top_k(in.top_k);
  out.set_top_p(in.top_p);
  out.set_min_p(in.min_p);
  out.set_typical_p(in.typical_p);
  out.set_min_keep(in.min_keep);
  out.set_repeat_last_n(in.repeat_last_n);
  out.set_repeat_penalty(in.repeat_penalty);
  out.set_presence_penalty(in.presence_penalty);
  out.set_frequency_penalty(in.frequency_penalty);
  out.set_seed(in.seed);
  auto* bias = out.mutable_logit_bias();
  bias->clear_entries();
  for (const sampling::LogitBias& b : in.logit_bias) {
    v1::LogitBias* entry = bias->add_entries();
    entry->set_token(b.token);
    entry->set_bias(b.bias);
  }
}

void ToProto(const StoppingParams& in, v1::StoppingParams& out) {
  out.set_max_tokens(in.max_tokens);
  out.mutable_stop()->mutable_values()->Assign(in.stop.begin(), in.stop.end());
  out.mutable_stop_token_ids()->mutable_ids()->Assign(in.stop_token_ids.begin(),
                                                      in.stop_token_ids.end());
  out.set_ignore_eos(in.ignore_eos);
}

void ToProto(RequestHandle::CancelResult in, v1::CancelResponse& out) {
  switch (in) {
    case RequestHandle::CancelResult::kNotFound:
      out.set_found(false);
      break;
    case RequestHandle::CancelResult::kQueued:
      out.set_found(true);
      out.set_state("queued");
      break;
    case RequestHandle::CancelResult::kRunning:
      out.set_found(true);
      out.set_state("running");
      break;
  }
}

void ToProto(const Timings& in, v1::Timings& out) {
  out.set_prefill_ms(in.prefill_ms);
  out.set_first_token_ms(in.first_token_ms);
  out.set_decode_ms(in.decode_ms);
  out.set_total_ms(in.total_ms);
  out.set_prefill_tokens_per_second(in.prefill_tokens_per_s);
  out.set_decode_tokens_per_second(in.decode_tokens_per_s);
}

void ToProto(const ModelInfo& in, const std::string& runtime,
             v1::ModelInfo& out) {
  out.set_runtime(runtime);
  // The file name only: the server's directory layout is not the client's
  // business.
  out.set_path(std::filesystem::path(in.path).filename().string());
  out.set_name(in.name);
  out.set_architecture(in.architecture);
  out.set_file_type(in.file_type);
  out.set_file_bytes(in.file_bytes);
  out.set_parameters(in.parameters);
  out.set_context_length(in.context_length);
  out.set_train_context_length(in.train_context_length);
  out.set_vocab_size(in.vocab_size);
  out.set_embedding_length(in.embedding_length);
  out.set_layers(in.layers);
  out.set_heads(in.heads);
  out.set_kv_heads(in.kv_heads);
  out.set_chat_template(in.chat_template);
  auto family = chat::DetectTemplateFamily(in.chat_template);
  if (family.ok()) {
    out.set_chat_template_family(
        std::string(chat::TemplateFamilyName(*family)));
  }
  out.set_bos_token(in.bos);
  out.set_eos_token(in.eos);
}

v1::RuntimeState StateOf(const WorkerSnapshot& snapshot) {
  if (!snapshot.alive) return v1::RUNTIME_STATE_DEAD;
  if (snapshot.diagnostics.poisoned) return v1::RUNTIME_STATE_POISONED;
  if (!snapshot.running_operation.empty()) return v1::RUNTIME_STATE_BUSY;
  if (!snapshot.diagnostics.model_loaded) return v1::RUNTIME_STATE_EMPTY;
  return v1::RUNTIME_STATE_READY;
}

void ToRuntimeInfo(const WorkerSnapshot& snapshot, v1::RuntimeInfo& out) {
  out.set_name(snapshot.name);
  out.set_state(StateOf(snapshot));
  if (snapshot.diagnostics.model_loaded) {
    out.set_model(snapshot.diagnostics.model.name);
    out.set_model_path(
        std::filesystem::path(snapshot.diagnostics.model.path).filename());
  }
  out.set_queue_depth(snapshot.queue_depth);
  out.set_queue_capacity(snapshot.queue_capacity);
}

void ToRuntimeStatus(const WorkerSnapshot& snapshot, v1::RuntimeStatus& out) {
  const Diagnostics& d = snapshot.diagnostics;
  out.set_runtime(snapshot.name);
  out.set_state(StateOf(snapshot));
  out.set_running_request_id(snapshot.running_request_id);
  out.set_running_operation(snapshot.running_operation);
  out.set_queue_depth(snapshot.queue_depth);
  out.set_queue_capacity(snapshot.queue_capacity);
  out.set_model_loaded(d.model_loaded);
  out.set_poisoned(d.poisoned);
  if (d.model_loaded) ToProto(d.model, snapshot.name, *out.mutable_model());
  out.set_weights_bytes(d.weights_bytes);
  out.set_kv_cache_bytes(d.kv_cache_bytes);
  out.set_scratch_bytes(d.scratch_bytes);
  out.set_kv_tokens_used(d.kv_tokens_used);
  out.set_threads(d.threads);
  v1::RuntimeCounters& c = *out.mutable_counters();
  c.set_generations(d.counters.generations);
  c.set_generations_failed(d.counters.generations_failed);
  c.set_generations_cancelled(d.counters.generations_cancelled);
  c.set_prompt_tokens(d.counters.prompt_tokens);
  c.set_cached_tokens(d.counters.cached_tokens);
  c.set_generated_tokens(d.counters.generated_tokens);
  c.set_loads(d.counters.loads);
  c.set_resets(d.counters.resets);
  c.set_prefilled_tokens(d.counters.prefilled_tokens);
  c.set_session_evictions(d.counters.session_evictions);
  c.set_sessions_expired(d.counters.sessions_expired);
  ToProto(d.last_timings, *out.mutable_last_timings());
  out.set_last_error(TruncateMessage(d.last_error, kMaxStatusMessageBytes));
  out.set_max_concurrent_entries(d.max_concurrent_entries);
  out.set_commands_run(snapshot.commands_run);
  out.set_commands_dropped(snapshot.commands_dropped);
  v1::SessionStats& sessions = *out.mutable_sessions();
  const SessionStats& st = d.session_stats;
  sessions.set_sessions(st.sessions);
  sessions.set_kv_bytes(st.kv_bytes);
  sessions.set_kv_budget_bytes(st.budget_bytes);
  sessions.set_kv_utilization(
      st.budget_bytes > 0 ? static_cast<double>(st.kv_bytes) / st.budget_bytes
                          : 0.0);
  sessions.set_ttl_seconds(st.ttl_seconds);
  out.set_model_shared_by(d.model_shared_by);
}

v1::SessionCache ToProto(SessionCache in) {
  switch (in) {
    case SessionCache::kNone:
      return v1::SESSION_CACHE_UNSPECIFIED;
    case SessionCache::kHit:
      return v1::SESSION_CACHE_HIT;
    case SessionCache::kNew:
      return v1::SESSION_CACHE_NEW;
    case SessionCache::kEvicted:
      return v1::SESSION_CACHE_EVICTED;
    case SessionCache::kDisabled:
      return v1::SESSION_CACHE_DISABLED;
    case SessionCache::kDropped:
      return v1::SESSION_CACHE_DROPPED;
    case SessionCache::kRestored:
      return v1::SESSION_CACHE_RESTORED;
  }
  return v1::SESSION_CACHE_UNSPECIFIED;
}

void ToProto(const SessionInfo& in, const std::string& runtime,
             v1::SessionInfo& out) {
  out.set_id(in.id);
  out.set_runtime(runtime);
  out.set_tokens(in.tokens);
  out.set_cached_tokens(in.cached_tokens);
  out.set_kv_bytes(in.kv_bytes);
  out.set_created_unix_ms(in.created_unix_ms);
  out.set_last_used_unix_ms(in.last_used_unix_ms);
  out.set_turns(in.turns);
  out.set_saved(!in.saved_path.empty());
  out.set_saved_path(in.saved_path);
}

}  // namespace ggufd
