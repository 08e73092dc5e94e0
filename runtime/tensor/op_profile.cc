#include "runtime/tensor/op_profile.h"

#include <algorithm>

namespace ggufd::tensor {
namespace {

thread_local OpProfile* current = nullptr;

}  // namespace

OpProfile::Attachment::Attachment(OpProfile& profile) : previous_(current) {
  current = &profile;
}

OpProfile::Attachment::~Attachment() { current = previous_; }

OpProfile* OpProfile::Current() { return current; }

void OpProfile::Add(std::string_view name, double seconds) {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    it = entries_.emplace(std::string(name), Entry{.name = std::string(name)})
             .first;
  }
  it->second.seconds += seconds;
  ++it->second.calls;
}

std::vector<OpProfile::Entry> OpProfile::Entries() const {
  std::vector<Entry> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) out.push_back(entry);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.seconds > b.seconds;
  });
  return out;
}

}  // namespace ggufd::tensor
