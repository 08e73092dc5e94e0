// Finds stop strings in streamed generated text. Text is released only once
// it can no longer be the start of a stop string, so a stop string split
// across tokens (or across the bytes of one UTF-8 character) is still caught
// and never shown to the client. Works on bytes.
#ifndef GGUFD_RUNTIME_SAMPLING_STOP_MATCHER_H_
#define GGUFD_RUNTIME_SAMPLING_STOP_MATCHER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ggufd::sampling {

class StopMatcher {
 public:
  // Bounds on client-supplied stop strings (they are held in memory and
  // searched on every token).
  static constexpr size_t kMaxStopStrings = 64;
  static constexpr size_t kMaxStopLength = 1024;

  // Empty stop strings are ignored; more than kMaxStopStrings strings or one
  // longer than kMaxStopLength bytes is InvalidArgument.
  static absl::StatusOr<StopMatcher> Create(std::vector<std::string> stops);

  // Consumes the next piece of generated text and appends to `*out` whatever
  // can be released. Held back is any tail that may begin a stop string and
  // an incomplete UTF-8 sequence at the very end (so released text stays
  // whole characters when the input is). Returns true once a stop string has
  // completed: `*out` then ends with the text before it, the stop string
  // itself is dropped, and later input is ignored. When several stop strings
  // are found, the one that completes first wins (the longest of those
  // completing at the same byte), which is what feeding the text one byte at
  // a time would report, so chunking never changes the result.
  bool Push(std::string_view text, std::string* out);

  // End of generation: releases all held text into `*out`.
  void Flush(std::string* out);

  bool stopped() const { return matched_ >= 0; }
  // Index (into the strings given to Create, empty ones included) of the stop
  // string found, or -1.
  int matched_index() const { return matched_; }
  std::string_view matched_stop() const;
  // Bytes currently held back.
  size_t held_bytes() const { return pending_.size(); }

  // Back to the state after Create.
  void Reset();

 private:
  explicit StopMatcher(std::vector<std::string> stops);

  // Start of the shortest tail of pending_ that is a proper prefix of some
  // stop string (pending_.size() when there is none).
  size_t HoldFrom() const;

  std::vector<std::string> stops_;
  size_t max_stop_length_ = 0;
  std::string pending_;  // received, not yet released
  int matched_ = -1;
};

}  // namespace ggufd::sampling

#endif  // GGUFD_RUNTIME_SAMPLING_STOP_MATCHER_H_
