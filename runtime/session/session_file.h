// Sessions saved to disk: a versioned file holding the identity of the model
// it was computed with, the history, the KV cache rows and a CRC-32 of all of
// it. Reading checks everything before anything is built, so a file from
// another model, a newer format, a cut or a flipped bit is a clear error and
// never a wrong answer.
//
// Layout (little-endian): "GGUFDSES", u32 version, identity (u64
// fingerprint, u64 file bytes, u32 n_layer, u32 kv_dim, u32 n_vocab, u32
// kv type, str architecture, str name), session (str id, i64 created, i32
// turns, u32 n, i32 history[n], u32 kv tokens, u64 row bytes), then per
// layer the K rows and the V rows of the kv tokens, then u32 CRC-32 of every
// byte before it. A str is u32 length + bytes.
#ifndef GGUFD_RUNTIME_SESSION_SESSION_FILE_H_
#define GGUFD_RUNTIME_SESSION_SESSION_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/model/model_config.h"
#include "runtime/session/session.h"

namespace ggufd::session {

inline constexpr uint32_t kSessionFileVersion = 1;

// What a saved KV cache is only valid for.
struct ModelIdentity {
  uint64_t fingerprint = 0;  // of the GGUF header and sampled weights
  uint64_t file_bytes = 0;
  uint32_t n_layer = 0;
  uint32_t kv_dim = 0;
  uint32_t n_vocab = 0;
  uint32_t kv_type = 0;
  std::string architecture;
  std::string name;
};

// A fingerprint of a model file: CRC-32s of its header (metadata and tensor
// table) and of 64 pages sampled across its weights, so files that differ
// only in weight values (a fine-tune, another quantization) differ too.
uint64_t ModelFingerprint(const gguf::GgufFile& file);

// Writes `session` (its KV cache may be absent: then none is saved) to
// `path` through a temporary file renamed into place. Returns the bytes
// written.
absl::StatusOr<uint64_t> WriteSessionFile(const std::string& path,
                                          const ModelIdentity& identity,
                                          const Session& session);

// Reads a session saved for `identity`, its cache sized by `config`.
// InvalidArgument for a file that is not a session, truncated or corrupt;
// FailedPrecondition for a newer format, another model, or a history that
// does not fit this runtime's context.
absl::StatusOr<std::unique_ptr<Session>> ReadSessionFile(
    const std::string& path, const ModelIdentity& identity,
    const model::ModelConfig& config);

}  // namespace ggufd::session

#endif  // GGUFD_RUNTIME_SESSION_SESSION_FILE_H_
