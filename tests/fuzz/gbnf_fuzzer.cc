// libFuzzer target for the grammar engine: the input is a GBNF grammar, a
// NUL, then text fed to the grammar's matcher in chunks (as tokens would
// be, characters split across chunks). Checked invariants:
//   - parsing never crashes or hangs, whatever the text (bounded sizes);
//   - a grammar that parses prints (ToGbnf) as a grammar that parses again;
//   - whether a chunk is allowed is what accepting it says, and a refused
//     chunk leaves the state as it was;
//   - a complete text may end;
//   - the matcher's bound on parse stacks ends ambiguous grammars with an
//     error, not a runaway.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/grammar/gbnf_parser.h"
#include "runtime/grammar/matcher.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view gbnf = input.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? std::string_view()
                                                        : input.substr(nul + 1);

  auto parsed = ggufd::grammar::ParseGbnf(gbnf);
  if (!parsed.ok()) return 0;
  Check(ggufd::grammar::ParseGbnf(parsed->ToGbnf()).ok());
  if (!parsed->token_refs.empty()) return 0;  // tokens need a vocabulary
  auto grammar =
      std::make_shared<const ggufd::grammar::Grammar>(std::move(*parsed));
  auto matcher = ggufd::grammar::Matcher::Create(
      grammar, nullptr, {}, {.max_stacks = 256, .max_states = 4096});
  if (!matcher.ok()) return 0;
  ggufd::grammar::Matcher& m = **matcher;
  // Chunks of 1..4 bytes, the length from the text's own bytes.
  while (!text.empty()) {
    const size_t n =
        std::min<size_t>(text.size(), 1 + static_cast<uint8_t>(text[0]) % 4);
    const std::string_view chunk = text.substr(0, n);
    text.remove_prefix(n);
    const bool could_end = m.CanEnd();
    auto allowed = m.AllowsBytes(chunk);
    if (!allowed.ok()) return 0;  // a bound was reached: a clean error
    const absl::Status accepted = m.AcceptBytes(chunk);
    if (absl::IsResourceExhausted(accepted)) return 0;
    Check(accepted.ok() == *allowed);
    if (!accepted.ok()) Check(m.CanEnd() == could_end);
    if (m.IsComplete()) Check(m.CanEnd());
  }
  return 0;
}
