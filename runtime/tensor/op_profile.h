// Wall time per kind of operation of a forward pass (`ggufd bench
// --profile`): each matrix product by type and shape, attention, norms,
// RoPE, sampling, and how long the calling thread waits for the pool. A
// profile collects on the thread that attached it, while the attachment
// lives; with none attached an OpTimer costs one thread-local read.
#ifndef GGUFD_RUNTIME_TENSOR_OP_PROFILE_H_
#define GGUFD_RUNTIME_TENSOR_OP_PROFILE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ggufd::tensor {

class OpProfile {
 public:
  struct Entry {
    std::string name;
    double seconds = 0;
    int64_t calls = 0;
  };

  // Makes this profile the calling thread's until the returned object is
  // destroyed (attachments nest; the innermost collects).
  class Attachment {
   public:
    explicit Attachment(OpProfile& profile);
    ~Attachment();
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

   private:
    OpProfile* previous_;
  };

  // The calling thread's attached profile, or null.
  static OpProfile* Current();

  void Add(std::string_view name, double seconds);
  // Entries by decreasing time.
  std::vector<Entry> Entries() const;
  void Clear() { entries_.clear(); }

 private:
  std::map<std::string, Entry, std::less<>> entries_;
};

// Adds the time from construction to destruction to the current profile
// under a name; the name is only built when a profile is attached.
class OpTimer {
 public:
  template <typename NameFn>
  explicit OpTimer(NameFn&& name_fn) : profile_(OpProfile::Current()) {
    if (profile_ != nullptr) {
      name_ = name_fn();
      start_ = std::chrono::steady_clock::now();
    }
  }
  explicit OpTimer(const char* name)
      : OpTimer([name] { return std::string(name); }) {}
  ~OpTimer() {
    if (profile_ != nullptr) {
      profile_->Add(name_, std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start_)
                               .count());
    }
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile* profile_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_OP_PROFILE_H_
