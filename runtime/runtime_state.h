// Internal to the Runtime: everything tied to one loaded model. Swapped in
// whole on a successful Load, so a failed load leaves the old one intact.
#ifndef GGUFD_RUNTIME_RUNTIME_STATE_H_
#define GGUFD_RUNTIME_RUNTIME_STATE_H_

#include <cassert>
#include <memory>
#include <vector>

#include "runtime/grammar/token_trie.h"
#include "runtime/model/model.h"
#include "runtime/model/run_state.h"
#include "runtime/runtime.h"
#include "runtime/session/session_file.h"
#include "runtime/session/session_store.h"
#include "runtime/shared_models.h"
#include "runtime/tensor/thread_pool.h"
#include "runtime/tokenizer/tokenizer.h"

namespace ggufd {

struct Runtime::Loaded {
  // Weights, panels and tokenizer, shared with other runtimes on the file.
  std::shared_ptr<const SharedModel> shared;
  std::unique_ptr<model::Model> model;  // this runtime's instance of it
  const tokenizer::Tokenizer* tokenizer = nullptr;  // shared->tokenizer
  std::unique_ptr<tensor::ThreadPool> pool;
  std::unique_ptr<model::RunState> state;
  // The tokens whose keys and values the cache holds, in order.
  std::vector<TokenId> cached;
  ModelInfo info;
  LoadOptions options;
  session::SessionStore sessions{{}};
  session::ModelIdentity identity;  // what saved sessions must match
  // The vocabulary as constrained generation walks it (runtime/grammar),
  // built on the first constrained request.
  std::shared_ptr<const grammar::TokenTrie> token_trie;
};

// Every session of `store`, most recently used first.
std::vector<SessionInfo> ListSessionInfos(const session::SessionStore& store);

// Counts the operations inside the runtime at once. The owner discipline
// (one worker thread per runtime) keeps this at 1; a debug build asserts it.
class Runtime::EntryGuard {
 public:
  explicit EntryGuard(const Runtime& runtime) : runtime_(runtime) {
    const int32_t now = runtime_.entries_.fetch_add(1) + 1;
    int32_t seen = runtime_.max_entries_.load();
    while (now > seen &&
           !runtime_.max_entries_.compare_exchange_weak(seen, now)) {
    }
    assert(now == 1 && "Runtime entered concurrently: owner discipline broken");
  }
  ~EntryGuard() { runtime_.entries_.fetch_sub(1); }

 private:
  const Runtime& runtime_;
};

}  // namespace ggufd

#endif  // GGUFD_RUNTIME_RUNTIME_STATE_H_
