// A conversation a runtime keeps between Generate calls: every token the
// model has read or written in it, and the KV cache of a prefix of them.
#ifndef GGUFD_RUNTIME_SESSION_SESSION_H_
#define GGUFD_RUNTIME_SESSION_SESSION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/generation.h"
#include "runtime/model/kv_cache.h"

namespace ggufd::session {

struct Session {
  std::string id;
  // Prompts and answers in order, end-of-turn tokens included.
  std::vector<TokenId> history;
  // Keys and values of history's first kv->size() tokens; null once
  // evicted or dropped (the history stays, and is evaluated again).
  std::unique_ptr<model::KvCache> kv;
  // Why kv is null when it is.
  SessionCache lost = SessionCache::kNew;
  int64_t created_unix_ms = 0;
  int64_t last_used_unix_ms = 0;
  std::chrono::steady_clock::time_point last_used;  // for the TTL
  int32_t turns = 0;
  // The file it was last saved to or restored from, while unchanged since:
  // as clients name it, and where it is (an evicted cache reloads from it).
  std::string saved_path;
  std::string saved_file;

  int64_t cached_tokens() const { return kv ? kv->size() : 0; }
  uint64_t kv_bytes() const { return kv ? kv->used_bytes() : 0; }
};

// Milliseconds since the Unix epoch.
int64_t UnixMillisNow();

// 1..128 bytes of [A-Za-z0-9._:-]; InvalidArgument naming `field` otherwise.
absl::Status ValidateSessionId(std::string_view id, std::string_view field);

}  // namespace ggufd::session

#endif  // GGUFD_RUNTIME_SESSION_SESSION_H_
