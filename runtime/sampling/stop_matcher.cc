#include "runtime/sampling/stop_matcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"

namespace ggufd::sampling {
namespace {

// Bytes a UTF-8 sequence starting with `lead` occupies; 1 for ASCII and for
// bytes that cannot start a sequence (those are passed through as they are).
size_t SequenceLength(unsigned char lead) {
  if (lead >= 0xC0 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF7) return 4;
  return 1;
}

// Moves `end` back so that text[0, end) does not stop inside a multi-byte
// UTF-8 sequence that may still be completed by later bytes.
size_t WholeCharacterPrefix(std::string_view text, size_t end) {
  const size_t lowest = end >= 3 ? end - 3 : 0;
  for (size_t j = end; j-- > lowest;) {
    const auto byte = static_cast<unsigned char>(text[j]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: look further
    return j + SequenceLength(byte) > end ? j : end;
  }
  return end;
}

}  // namespace

absl::StatusOr<StopMatcher> StopMatcher::Create(
    std::vector<std::string> stops) {
  if (stops.size() > kMaxStopStrings) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d stop strings given, at most %d are allowed",
                        stops.size(), kMaxStopStrings));
  }
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].size() > kMaxStopLength) {
      return absl::InvalidArgumentError(
          absl::StrFormat("stop string %d is %d bytes long, at most %d allowed",
                          i, stops[i].size(), kMaxStopLength));
    }
  }
  return StopMatcher(std::move(stops));
}

StopMatcher::StopMatcher(std::vector<std::string> stops)
    : stops_(std::move(stops)) {
  for (const std::string& stop : stops_) {
    max_stop_length_ = std::max(max_stop_length_, stop.size());
  }
  pending_.reserve(max_stop_length_ + 4);
}

std::string_view StopMatcher::matched_stop() const {
  if (matched_ < 0) return {};
  return stops_[static_cast<size_t>(matched_)];
}

void StopMatcher::Reset() {
  pending_.clear();
  matched_ = -1;
}

size_t StopMatcher::HoldFrom() const {
  const size_t n = pending_.size();
  const size_t first = max_stop_length_ > n ? 0 : n - max_stop_length_ + 1;
  for (size_t i = first; i < n; ++i) {
    const std::string_view tail = std::string_view(pending_).substr(i);
    for (const std::string& stop : stops_) {
      if (stop.size() > tail.size() &&
          std::string_view(stop).substr(0, tail.size()) == tail) {
        return i;
      }
    }
  }
  return n;
}

bool StopMatcher::Push(std::string_view text, std::string* out) {
  if (stopped()) return true;
  pending_.append(text);

  // The match that completes first; among those, the one starting first.
  size_t best_start = std::string::npos;
  size_t best_end = std::string::npos;
  for (size_t k = 0; k < stops_.size(); ++k) {
    const std::string& stop = stops_[k];
    if (stop.empty()) continue;
    const size_t start = pending_.find(stop);
    if (start == std::string::npos) continue;
    const size_t end = start + stop.size();
    if (end < best_end || (end == best_end && start < best_start)) {
      best_start = start;
      best_end = end;
      matched_ = static_cast<int>(k);
    }
  }
  if (matched_ >= 0) {
    out->append(pending_, 0, best_start);
    pending_.clear();
    return true;
  }

  const size_t release = WholeCharacterPrefix(pending_, HoldFrom());
  out->append(pending_, 0, release);
  pending_.erase(0, release);
  return false;
}

void StopMatcher::Flush(std::string* out) {
  out->append(pending_);
  pending_.clear();
}

}  // namespace ggufd::sampling
