#include "runtime/tokenizer/streaming_decoder.h"

#include "runtime/tokenizer/utf8.h"

namespace ggufd::tokenizer {

std::string StreamingDecoder::Push(std::string_view bytes) {
  pending_.append(bytes);
  // The held-back tail starts at a lead byte, which no earlier ill-formed
  // sequence can absorb, so repairing the rest now gives the same result
  // as repairing everything at the end.
  const size_t tail = IncompleteUtf8Tail(pending_);
  const std::string_view complete =
      std::string_view(pending_).substr(0, pending_.size() - tail);
  std::string out =
      IsValidUtf8(complete) ? std::string(complete) : SanitizeUtf8(complete);
  pending_.erase(0, pending_.size() - tail);
  return out;
}

std::string StreamingDecoder::Flush() {
  std::string out = SanitizeUtf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace ggufd::tokenizer
