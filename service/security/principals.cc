#include "service/security/principals.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "runtime/common/str_cat.h"
#include "service/security/token_hash.h"

namespace ggufd::security {
namespace {

constexpr std::string_view kCertPrefix = "cert:";
// How often the file is looked at for changes.
constexpr absl::Duration kCheckInterval = absl::Seconds(1);

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

// The whitespace-separated fields of `line`.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() &&
           absl::ascii_isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
    }
    const size_t start = i;
    while (i < line.size() &&
           !absl::ascii_isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
    }
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;  // printable ASCII, no space
  }
  return true;
}

absl::StatusOr<Role> ParseRole(std::string_view text) {
  if (text == "inference") return Role::kInference;
  if (text == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(
      StrCat("unknown role \"", text, "\" (inference or admin)"));
}

}  // namespace

std::string_view RoleName(Role role) {
  return role == Role::kAdmin ? "admin" : "inference";
}

absl::StatusOr<PrincipalTable> PrincipalTable::Parse(std::string_view text) {
  PrincipalTable table;
  int line_number = 0;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    ++line_number;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<std::string_view> fields = Fields(line);
    if (fields.empty()) continue;
    auto error = [line_number](std::string_view what) {
      return absl::InvalidArgumentError(
          StrCat("auth file line ", line_number, ": ", what));
    };
    if (fields.size() != 3) {
      return error("expected <credential> <role> <name>");
    }
    auto role = ParseRole(fields[1]);
    if (!role.ok()) return error(std::string(role.status().message()));
    if (!ValidName(fields[2])) {
      return error("the name must be 1-128 printable characters, no spaces");
    }
    Principal principal{.name = std::string(fields[2]), .role = *role};
    std::string_view credential = fields[0];
    bool inserted = false;
    if (credential.starts_with(kCertPrefix)) {
      credential.remove_prefix(kCertPrefix.size());
      if (credential.empty()) return error("cert: needs an identity");
      inserted = table.certificates_
                     .emplace(std::string(credential), std::move(principal))
                     .second;
    } else if (IsSha256Hex(credential)) {
      inserted =
          table.tokens_.emplace(Lower(credential), std::move(principal)).second;
    } else {
      // Most likely a token pasted in the clear: say so without echoing it.
      return error(
          "the credential must be the 64 hex digits of a token's SHA-256 "
          "(ggufd hash-token) or cert:<identity>");
    }
    if (!inserted) return error("this credential is listed twice");
  }
  return table;
}

const Principal* PrincipalTable::FindTokenHash(
    std::string_view sha256_hex) const {
  auto it = tokens_.find(Lower(sha256_hex));
  return it == tokens_.end() ? nullptr : &it->second;
}

const Principal* PrincipalTable::FindCertificate(
    std::string_view identity) const {
  auto it = certificates_.find(std::string(identity));
  return it == certificates_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::unique_ptr<PrincipalStore>> PrincipalStore::Open(
    std::string path, JsonLog* log) {
  std::unique_ptr<PrincipalStore> store(new PrincipalStore(path, log));
  auto table = store->Read(store->stamp_);
  if (!table.ok()) return table.status();
  store->table_ = std::make_shared<const PrincipalTable>(std::move(*table));
  store->checked_ = absl::Now();
  return store;
}

absl::StatusOr<PrincipalTable> PrincipalStore::Read(Stamp& stamp) const {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    return absl::NotFoundError(StrCat("cannot read the auth file ", path_));
  }
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path_));
  auto table = PrincipalTable::Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path_, ": ", table.status().message()));
  }
  stamp = {.device = st.st_dev,
           .inode = st.st_ino,
           .size = st.st_size,
           .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                       st.st_mtim.tv_nsec};
  return table;
}

std::shared_ptr<const PrincipalTable> PrincipalStore::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = absl::Now();
  if (now - checked_ < kCheckInterval) return table_;
  checked_ = now;
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0) {
    const Stamp seen{
        .device = st.st_dev,
        .inode = st.st_ino,
        .size = st.st_size,
        .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                    st.st_mtim.tv_nsec};
    if (seen == stamp_) return table_;
  }
  Stamp stamp;
  auto table = Read(stamp);
  if (!table.ok()) {
    // Keep serving with what was valid; a half-written or broken file must
    // not lock everyone out. Logged once until the file parses again.
    if (stamp_.size != -1) {
      log_->Error(
          "auth file not reloaded",
          {{"path", path_}, {"error", std::string(table.status().message())}});
    }
    stamp_.size = -1;  // try again at the next check
    return table_;
  }
  table_ = std::make_shared<const PrincipalTable>(std::move(*table));
  stamp_ = stamp;
  log_->Info("auth file reloaded", {{"path", path_},
                                    {"tokens", table_->tokens()},
                                    {"certificates", table_->certificates()}});
  return table_;
}

}  // namespace ggufd::security
