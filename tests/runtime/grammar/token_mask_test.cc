// The allowed-token masks over the real SmolLM2 vocabulary equal a brute
// force: a separate, deliberately plain implementation of llama.cpp's grammar
// algorithm (stacks as vectors, every token's bytes decoded and run through
// every stack, llama.cpp's UTF-8 and partial-character rules) checked
// against every one of the 49152 tokens, step after step along seeded random
// walks through each of llama.cpp's grammars.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/grammar/gbnf_parser.h"
#include "runtime/grammar/matcher.h"
#include "runtime/grammar/token_trie.h"
#include "runtime/tokenizer/tokenizer.h"

namespace ggufd::grammar {
namespace {

// ---- The brute force: llama.cpp's algorithm, written out plainly. ----

using Stack = std::vector<uint32_t>;  // positions, top last

struct Partial {
  uint32_t value = 0;
  int remain = 0;  // -1: invalid
};

// llama.cpp's decode_utf8: code points (0-terminated) and what is pending.
std::pair<std::vector<uint32_t>, Partial> Decode(const std::string& src,
                                                 Partial start) {
  static const int kLookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4};
  std::vector<uint32_t> cps;
  size_t pos = 0;
  uint32_t value = start.value;
  int remain = start.remain;
  while (pos < src.size() && src[pos] != 0 && remain > 0) {
    const uint8_t b = static_cast<uint8_t>(src[pos]);
    if ((b >> 6) != 2) return {{0}, {0, -1}};
    value = (value << 6) + (b & 0x3F);
    ++pos;
    --remain;
  }
  if (start.remain > 0 && remain == 0) cps.push_back(value);
  while (pos < src.size() && src[pos] != 0) {
    const uint8_t first = static_cast<uint8_t>(src[pos]);
    remain = kLookup[first >> 4] - 1;
    if (remain < 0) return {{0}, {0, remain}};
    value = first & ((1 << (7 - remain)) - 1);
    ++pos;
    while (pos < src.size() && src[pos] != 0 && remain > 0) {
      value = (value << 6) + (static_cast<uint8_t>(src[pos]) & 0x3F);
      ++pos;
      --remain;
    }
    if (remain == 0) cps.push_back(value);
  }
  cps.push_back(0);
  return {cps, {value, remain}};
}

class Reference {
 public:
  Reference(const Grammar& g, const std::vector<int32_t>& token_ids,
            const tokenizer::Tokenizer& tok)
      : g_(g), token_ids_(token_ids), tok_(tok) {
    for (uint32_t start : g_.rules[g_.root].alternatives) {
      Stack s;
      if (g_.elements[start].op != Op::kEnd) s.push_back(start);
      Advance(s, stacks_);
    }
  }

  void Accept(int32_t id) {
    if (tok_.IsEog(id)) return;
    const std::string piece(tok_.TokenToPiece(id, true));
    const auto [cps, partial] = Decode(piece, partial_);
    std::vector<Stack> next;
    for (const Stack& s : stacks_) {
      if (s.empty()) continue;
      const Element& top = g_.elements[s.back()];
      if (top.op == Op::kToken || top.op == Op::kNotToken) {
        if (cps[0] != 0 && MatchToken(top, id)) {
          Stack n(s.begin(), s.end() - 1);
          if (g_.elements[s.back() + 1].op != Op::kEnd) {
            n.push_back(s.back() + 1);
          }
          Advance(n, next);
        }
        continue;
      }
      std::vector<Stack> cur = {s};
      for (size_t i = 0; cps[i] != 0 && !cur.empty(); ++i) {
        std::vector<Stack> after;
        for (const Stack& c : cur) AcceptChar(c, cps[i], after);
        cur = std::move(after);
      }
      for (const Stack& c : cur) {
        if (std::find(next.begin(), next.end(), c) == next.end()) {
          next.push_back(c);
        }
      }
    }
    stacks_ = std::move(next);
    partial_ = partial;
  }

 private:
  bool IsChars(const Stack& s) const {
    return g_.elements[s.back()].op == Op::kChars;
  }

  bool MatchChar(const Element& e, uint32_t c) const {
    const CharSet& set = g_.char_sets[e.arg];
    bool in = false;
    for (const auto& [lo, hi] : set.ranges) in |= lo <= c && c <= hi;
    return in != set.negated;
  }

  bool MatchPartial(const Element& e, Partial p) const {
    if (p.remain < 0 || (p.remain == 1 && p.value < 2)) return false;
    uint32_t low = p.value << (p.remain * 6);
    const uint32_t high = low | ((1u << (p.remain * 6)) - 1);
    if (low == 0) {
      if (p.remain == 2) low = 1 << 11;
      if (p.remain == 3) low = 1 << 16;
    }
    const CharSet& set = g_.char_sets[e.arg];
    for (const auto& [lo, hi] : set.ranges) {
      if (lo <= high && low <= hi) return !set.negated;
    }
    return set.negated;
  }

  bool MatchToken(const Element& e, int32_t id) const {
    const int32_t want = token_ids_[e.arg];
    return e.op == Op::kToken ? id == want : id != want;
  }

  void Advance(const Stack& start, std::vector<Stack>& out) const {
    std::vector<Stack> todo = {start};
    std::vector<Stack> seen;
    while (!todo.empty()) {
      Stack s = std::move(todo.back());
      todo.pop_back();
      if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
      seen.push_back(s);
      if (s.empty() || g_.elements[s.back()].op != Op::kRule) {
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
        continue;
      }
      const uint32_t pos = s.back();
      for (uint32_t alt : g_.rules[g_.elements[pos].arg].alternatives) {
        Stack n(s.begin(), s.end() - 1);
        if (g_.elements[pos + 1].op != Op::kEnd) n.push_back(pos + 1);
        if (g_.elements[alt].op != Op::kEnd) n.push_back(alt);
        todo.push_back(std::move(n));
      }
    }
  }

  void AcceptChar(const Stack& s, uint32_t c, std::vector<Stack>& out) const {
    if (s.empty() || !IsChars(s) || !MatchChar(g_.elements[s.back()], c)) {
      return;
    }
    Stack n(s.begin(), s.end() - 1);
    if (g_.elements[s.back() + 1].op != Op::kEnd) n.push_back(s.back() + 1);
    Advance(n, out);
  }

  // llama.cpp's reject_candidates_for_stack, for one token: whether some
  // way through `stack` takes all of `cps` (and the pending `partial`).
  bool Accepts(const Stack& stack, const uint32_t* cps, Partial partial,
               int32_t id) const {
    if (stack.empty()) return *cps == 0 && partial.remain == 0;
    const Element& top = g_.elements[stack.back()];
    if (top.op == Op::kToken || top.op == Op::kNotToken) {
      // Reached exactly at the token's end: fine unless a character is
      // pending. Otherwise only at the token's start (llama.cpp would also
      // match the id in the middle of the token's text, then fail to
      // accept it; ggufd refuses there).
      if (*cps == 0) return partial.remain == 0;
      return cps == first_ && MatchToken(top, id);
    }
    if (*cps == 0) return partial.remain == 0 || MatchPartial(top, partial);
    if (!MatchChar(top, *cps)) return false;
    std::vector<Stack> next;
    Stack n(stack.begin(), stack.end() - 1);
    if (g_.elements[stack.back() + 1].op != Op::kEnd) {
      n.push_back(stack.back() + 1);
    }
    Advance(n, next);
    for (const Stack& s : next) {
      if (Accepts(s, cps + 1, partial, id)) return true;
    }
    return false;
  }

 public:
  // The code points of the token being checked (for the token-start rule).
  mutable const uint32_t* first_ = nullptr;

  std::vector<bool> AllowedTokens() {
    bool allow_eog = false;
    for (const Stack& s : stacks_) allow_eog |= s.empty();
    allow_eog &= partial_.remain == 0;
    std::vector<bool> allowed(tok_.vocab_size(), false);
    for (int32_t id = 0; id < tok_.vocab_size(); ++id) {
      if (tok_.IsEog(id)) {
        allowed[id] = allow_eog;
        continue;
      }
      const std::string piece(tok_.TokenToPiece(id, true));
      if (piece.empty() || piece[0] == 0) continue;
      const auto decoded = Decode(piece, partial_);
      first_ = decoded.first.data();
      for (const Stack& s : stacks_) {
        if (Accepts(s, first_, decoded.second, id)) {
          allowed[id] = true;
          break;
        }
      }
    }
    return allowed;
  }

 private:
  const Grammar& g_;
  const std::vector<int32_t>& token_ids_;
  const tokenizer::Tokenizer& tok_;
  std::vector<Stack> stacks_;
  Partial partial_;
};

// ---- The test. ----

class TokenMaskTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path =
        std::string(GGUFD_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
    auto file = gguf::GgufFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    auto tok = tokenizer::Tokenizer::FromGguf(**file);
    ASSERT_TRUE(tok.ok()) << tok.status();
    tok_ = new tokenizer::Tokenizer(std::move(*tok));
    std::vector<std::string> pieces;
    std::vector<bool> eog;
    for (int32_t id = 0; id < tok_->vocab_size(); ++id) {
      pieces.emplace_back(tok_->TokenToPiece(id, true));
      eog.push_back(tok_->IsEog(id));
    }
    trie_ = new std::shared_ptr<const TokenTrie>(
        std::make_shared<const TokenTrie>(TokenTrie::Build(pieces, eog)));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete trie_;
  }

  // Walks `steps` tokens through `gbnf`, comparing the masks at each step.
  void Walk(const std::string& name, const std::string& gbnf, int steps,
            uint32_t seed) {
    absl::StatusOr<Grammar> parsed = ParseGbnf(gbnf);
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
    auto grammar = std::make_shared<const Grammar>(std::move(*parsed));
    auto ids = ResolveTokenRefs(
        *grammar, tok_->vocab_size(),
        [](std::string_view text) -> absl::StatusOr<std::vector<int32_t>> {
          return tok_->Encode(text,
                              {.add_special = false, .parse_special = true});
        });
    ASSERT_TRUE(ids.ok()) << ids.status();
    auto matcher = Matcher::Create(grammar, *trie_, *ids);
    ASSERT_TRUE(matcher.ok()) << matcher.status();
    Reference reference(*grammar, *ids, *tok_);
    std::mt19937 rng(seed);
    std::string text;
    for (int step = 0; step < steps; ++step) {
      auto bits = (*matcher)->AllowedTokens();
      ASSERT_TRUE(bits.ok()) << bits.status();
      const std::vector<bool> want = reference.AllowedTokens();
      std::vector<int32_t> allowed;
      int mismatches = 0;
      for (int32_t id = 0; id < tok_->vocab_size(); ++id) {
        const bool got = ((*bits.value())[id / 64] >> (id % 64)) & 1;
        if (got != want[id] && ++mismatches <= 5) {
          ADD_FAILURE() << name << " step " << step << " after \"" << text
                        << "\": token " << id << " ("
                        << tok_->TokenToPiece(id, true) << ") ggufd " << got
                        << ", brute force " << want[id];
        }
        // The one-token check agrees with the mask.
        if (id % 97 == 0 || got) {
          EXPECT_EQ((*matcher)->Allows(id).value(), got)
              << name << " step " << step << " token " << id;
        }
        if (got && !tok_->IsEog(id)) allowed.push_back(id);
      }
      ASSERT_EQ(mismatches, 0) << name << " step " << step;
      ++compared_;
      // Only the end, or a dead end both agree on (a token element after a
      // token that left half a character): the walk is over.
      if (allowed.empty()) {
        std::cout << name << ": only the end (or nothing) after \"" << text
                  << "\"\n";
        break;
      }
      const int32_t pick = allowed[rng() % allowed.size()];
      text += tok_->TokenToPiece(pick, true);
      ASSERT_TRUE((*matcher)->Accept(pick).ok()) << name << " step " << step;
      reference.Accept(pick);
    }
  }

  static tokenizer::Tokenizer* tok_;
  static std::shared_ptr<const TokenTrie>* trie_;
  int compared_ = 0;
};

tokenizer::Tokenizer* TokenMaskTest::tok_ = nullptr;
std::shared_ptr<const TokenTrie>* TokenMaskTest::trie_ = nullptr;

std::string ReadGrammar(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(TokenMaskTest, LlamaCppGrammarsMatchBruteForce) {
  const auto dir =
      std::filesystem::path(GGUFD_TESTDATA_DIR) / "llama.cpp-grammars";
  uint32_t seed = 1;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".gbnf") continue;
    for (int walk = 0; walk < 2; ++walk) {
      Walk(entry.path().filename().string(), ReadGrammar(entry.path()), 12,
           seed++);
    }
  }
  EXPECT_GE(compared_, 150);
}

TEST_F(TokenMaskTest, SplitCharactersAndTokensMatchBruteForce) {
  // Characters outside ASCII (so tokens end inside them), negated classes
  // that exclude a multi-byte character, and token references.
  Walk("cjk", "root ::= [一-鿿ぁ-ゟ]+ \"。\"?", 20, 7);
  Walk("negated", "root ::= [^\\u2028\\u00e9\\n]{1,30}", 20, 8);
  Walk("tokens",
       "root ::= <|im_start|> [a-z ]{1,5} !<|im_end|>{1,3} <[330]> .{1,4}", 20,
       9);
  Walk("mixed", "root ::= (\"é\" | \"ü\" | [😀-🙏] | \"a\")+", 20, 10);
  EXPECT_GE(compared_, 50);
}

}  // namespace
}  // namespace ggufd::grammar
