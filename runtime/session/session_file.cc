#include "runtime/session/session_file.h"

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "runtime/common/str_cat.h"

namespace ggufd::session {
namespace {

constexpr std::string_view kMagic = "GGUFDSES";
// A history or identity string longer than this is a corrupt file.
constexpr uint32_t kMaxString = 1 << 16;
constexpr uint32_t kMaxTokens = 1 << 24;

class Writer {
 public:
  template <typename T>
  void Put(T value) {
    const auto* p = reinterpret_cast<const char*>(&value);
    out_.append(p, sizeof(T));
  }
  void PutString(std::string_view s) {
    Put(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void PutBytes(const void* data, size_t size) {
    out_.append(static_cast<const char*>(data), size);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// Reads fields from the file's bytes; any read past the end marks it
// truncated and yields zeros, checked once at the end of each section.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  T Get() {
    T value{};
    if (Need(sizeof(T))) std::memcpy(&value, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string GetString() {
    const uint32_t n = Get<uint32_t>();
    if (n > kMaxString) {
      bad_ = true;
      return {};
    }
    std::string s;
    if (Need(n)) s.assign(in_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  const uint8_t* Bytes(size_t n) {
    const uint8_t* p =
        Need(n) ? reinterpret_cast<const uint8_t*>(in_.data() + pos_) : nullptr;
    pos_ += n;
    return p;
  }
  bool truncated() const { return pos_ > in_.size(); }
  bool bad() const { return bad_; }
  size_t pos() const { return pos_; }

 private:
  bool Need(size_t n) const {
    return pos_ <= in_.size() && n <= in_.size() - pos_;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool bad_ = false;
};

uint32_t Crc32(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t i = 0; i < bytes.size(); i += kPiece) {
    const size_t n = std::min(kPiece, bytes.size() - i);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + i),
                static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

absl::Status Corrupt(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("not a valid session file: ", what));
}

}  // namespace

uint64_t ModelFingerprint(const gguf::GgufFile& file) {
  const absl::Span<const uint8_t> bytes = file.bytes();
  const auto view = [&](size_t begin, size_t size) {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()) + begin,
                            size);
  };
  const size_t header = std::min<size_t>(file.data_offset(), bytes.size());
  const uint32_t head_crc = Crc32(view(0, header));
  uLong crc = crc32(0L, Z_NULL, 0);
  constexpr size_t kSamples = 64;
  constexpr size_t kSample = 4096;
  const size_t data = bytes.size() - header;
  for (size_t i = 0; i < kSamples && data > 0; ++i) {
    const size_t at = header + data / kSamples * i;
    const size_t n = std::min(kSample, bytes.size() - at);
    crc = crc32(crc, bytes.data() + at, static_cast<uInt>(n));
  }
  return (uint64_t{head_crc} << 32) | static_cast<uint32_t>(crc);
}

absl::StatusOr<uint64_t> WriteSessionFile(const std::string& path,
                                          const ModelIdentity& identity,
                                          const Session& session) {
  Writer w;
  w.PutBytes(kMagic.data(), kMagic.size());
  w.Put<uint32_t>(kSessionFileVersion);
  w.Put<uint64_t>(identity.fingerprint);
  w.Put<uint64_t>(identity.file_bytes);
  w.Put<uint32_t>(identity.n_layer);
  w.Put<uint32_t>(identity.kv_dim);
  w.Put<uint32_t>(identity.n_vocab);
  w.Put<uint32_t>(identity.kv_type);
  w.PutString(identity.architecture);
  w.PutString(identity.name);
  w.PutString(session.id);
  w.Put<int64_t>(session.created_unix_ms);
  w.Put<int32_t>(session.turns);
  w.Put<uint32_t>(static_cast<uint32_t>(session.history.size()));
  w.PutBytes(session.history.data(), session.history.size() * sizeof(TokenId));
  const model::KvCache* kv = session.kv.get();
  const uint32_t kv_tokens = kv ? static_cast<uint32_t>(kv->size()) : 0;
  w.Put<uint32_t>(kv_tokens);
  w.Put<uint64_t>(kv ? kv->row_bytes() : 0);
  if (kv != nullptr) {
    const size_t n = static_cast<size_t>(kv_tokens) * kv->row_bytes();
    for (int layer = 0; layer < kv->n_layer(); ++layer) {
      w.PutBytes(kv->k_row(layer, 0), n);
      w.PutBytes(kv->v_row(layer, 0), n);
    }
  }
  w.Put<uint32_t>(Crc32(w.out()));

  const std::string tmp = StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(w.out().data(), static_cast<std::streamsize>(w.out().size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::InternalError(StrCat("could not write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(StrCat("could not rename ", tmp, " to ", path));
  }
  return w.out().size();
}

absl::StatusOr<std::unique_ptr<Session>> ReadSessionFile(
    const std::string& path, const ModelIdentity& identity,
    const model::ModelConfig& config) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError("cannot open the session file");
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) return absl::InternalError("cannot read the session file");
  if (bytes.size() < kMagic.size() + 4 ||
      std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    return Corrupt("no GGUFDSES header");
  }
  Reader r(std::string_view(bytes).substr(kMagic.size()));
  const uint32_t version = r.Get<uint32_t>();
  if (version > kSessionFileVersion) {
    return absl::FailedPreconditionError(
        StrCat("the session file has format version ", version,
               ", newer than this server reads (", kSessionFileVersion, ")"));
  }
  if (version == 0) return Corrupt("format version 0");
  ModelIdentity saved;
  saved.fingerprint = r.Get<uint64_t>();
  saved.file_bytes = r.Get<uint64_t>();
  saved.n_layer = r.Get<uint32_t>();
  saved.kv_dim = r.Get<uint32_t>();
  saved.n_vocab = r.Get<uint32_t>();
  saved.kv_type = r.Get<uint32_t>();
  saved.architecture = r.GetString();
  saved.name = r.GetString();
  auto session = std::make_unique<Session>();
  session->id = r.GetString();
  session->created_unix_ms = r.Get<int64_t>();
  session->turns = r.Get<int32_t>();
  const uint32_t n = r.Get<uint32_t>();
  if (n > kMaxTokens || r.bad()) return Corrupt("a length is out of range");
  if (const uint8_t* p = r.Bytes(size_t{n} * sizeof(TokenId))) {
    session->history.resize(n);
    std::memcpy(session->history.data(), p, size_t{n} * sizeof(TokenId));
  }
  const uint32_t kv_tokens = r.Get<uint32_t>();
  const uint64_t row_bytes = r.Get<uint64_t>();
  if (r.truncated()) return Corrupt("truncated in its header");
  if (kv_tokens > n || (kv_tokens > 0 && row_bytes == 0) ||
      row_bytes > (uint64_t{1} << 24)) {
    return Corrupt("its cache sizes are inconsistent");
  }
  const uint64_t kv_bytes = uint64_t{2} * saved.n_layer * kv_tokens * row_bytes;
  const uint64_t expected = kMagic.size() + r.pos() + kv_bytes + 4;
  if (bytes.size() < expected) {
    return Corrupt(StrCat("truncated (", bytes.size(), " bytes, expected ",
                          expected, ")"));
  }
  if (bytes.size() > expected) {
    return Corrupt(StrCat("trailing bytes (", bytes.size(), " bytes, expected ",
                          expected, ")"));
  }
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + expected - 4, 4);
  if (Crc32(std::string_view(bytes).substr(0, expected - 4)) != stored_crc) {
    return Corrupt("checksum mismatch (the file is corrupt)");
  }

  if (saved.fingerprint != identity.fingerprint ||
      saved.file_bytes != identity.file_bytes ||
      saved.n_layer != identity.n_layer || saved.kv_dim != identity.kv_dim ||
      saved.n_vocab != identity.n_vocab ||
      saved.architecture != identity.architecture) {
    return absl::FailedPreconditionError(StrCat(
        "the session was saved with another model (\"", saved.name, "\", ",
        saved.architecture, ", ", saved.file_bytes, " bytes, fingerprint ",
        absl::Hex(saved.fingerprint), "); this runtime has \"", identity.name,
        "\" (", identity.file_bytes, " bytes, fingerprint ",
        absl::Hex(identity.fingerprint), ")"));
  }
  if (saved.kv_type != identity.kv_type) {
    return absl::FailedPreconditionError(
        "the session's cache has another element type than this runtime's");
  }
  for (const TokenId id : session->history) {
    if (id < 0 || static_cast<uint32_t>(id) >= identity.n_vocab) {
      return Corrupt("a history token is outside the vocabulary");
    }
  }
  if (static_cast<int64_t>(n) >= config.n_ctx) {
    return absl::FailedPreconditionError(
        StrCat("the session holds ", n, " tokens; this runtime's context is ",
               config.n_ctx));
  }
  if (kv_tokens > 0) {
    auto kv = std::make_unique<model::KvCache>(config);
    if (kv->row_bytes() != row_bytes) {
      return absl::FailedPreconditionError(
          "the session's cache rows differ from this runtime's");
    }
    const size_t rows = static_cast<size_t>(kv_tokens) * row_bytes;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data()) +
                       kMagic.size() + (r.pos());
    for (uint32_t layer = 0; layer < saved.n_layer; ++layer) {
      std::memcpy(kv->k_row(static_cast<int>(layer), 0), p, rows);
      p += rows;
      std::memcpy(kv->v_row(static_cast<int>(layer), 0), p, rows);
      p += rows;
    }
    kv->set_size(kv_tokens);
    session->kv = std::move(kv);
  } else if (n > 0) {
    session->lost = SessionCache::kEvicted;
  }
  return session;
}

}  // namespace ggufd::session
