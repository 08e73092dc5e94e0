// Validating parser for the GGUF layout:
//   magic "GGUF" | u32 version | n_tensors | n_kv | kv[n_kv] | tensor_info[n]
//   | padding to general.alignment | data section
// Counts, string lengths and array lengths are u64 in v2/v3 and u32 in v1
// (v1 also stores dimensions as u32). Every read is bounds-checked against
// the file, and no container is sized by a count before that count has been
// checked against the bytes that remain.
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/gguf/gguf_file.h"

namespace ggufd::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read little-endian
constexpr uint32_t kMaxAlignment = 1u << 20;
// llama.cpp stores tensor names in ggml's 64-byte field (GGML_MAX_NAME,
// NUL included) and refuses longer ones.
constexpr size_t kMaxTensorNameLength = 63;
constexpr size_t kMaxKeyLength = 1u << 16;

}  // namespace

class GgufParser {
 public:
  GgufParser(GgufFile& file, const OpenOptions& options)
      : file_(file), options_(options), bytes_(file.bytes_) {}

  absl::Status Parse() {
    RETURN_IF_ERROR(ParseHeader());
    RETURN_IF_ERROR(ParseMetadata());
    RETURN_IF_ERROR(ParseAlignment());
    RETURN_IF_ERROR(ParseTensorInfos());
    return PlaceTensorData();
  }

 private:
  absl::Status Error(uint64_t offset, std::string_view what) const {
    return absl::InvalidArgumentError(StrCat(
        "invalid GGUF file ", file_.path_.empty() ? "<memory>" : file_.path_,
        ": at offset ", offset, ": ", what));
  }

  uint64_t remaining() const { return bytes_.size() - pos_; }

  absl::Status Need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      return Error(pos_, StrCat(what, " needs ", n, " bytes but only ",
                                remaining(), " remain"));
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::StatusOr<T> Read(std::string_view what) {
    RETURN_IF_ERROR(Need(sizeof(T), what));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // A count or length: u32 in v1, u64 afterwards.
  absl::StatusOr<uint64_t> ReadCount(std::string_view what) {
    if (file_.version_ == 1) {
      ASSIGN_OR_RETURN(uint32_t v, Read<uint32_t>(what));
      return v;
    }
    return Read<uint64_t>(what);
  }

  absl::StatusOr<std::string_view> ReadString(std::string_view what,
                                              uint64_t max_len) {
    const uint64_t at = pos_;
    ASSIGN_OR_RETURN(uint64_t len, ReadCount(StrCat(what, " length")));
    if (len > max_len) {
      return Error(
          at, StrCat(what, " length ", len, " exceeds the limit of ", max_len));
    }
    RETURN_IF_ERROR(Need(len, what));
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_),
                       len);
    pos_ += len;
    return s;
  }

  absl::Status ParseHeader() {
    ASSIGN_OR_RETURN(uint32_t magic, Read<uint32_t>("magic"));
    if (magic != kMagic) return Error(0, "bad magic (not a GGUF file)");
    ASSIGN_OR_RETURN(uint32_t version, Read<uint32_t>("version"));
    if (version == 0x03000000 || version == 0x02000000) {
      return Error(4, "big-endian GGUF files are not supported");
    }
    if (version == 1 && !options_.allow_v1) {
      return Error(4, "GGUF v1 is not supported");
    }
    if (version < 1 || version > 3) {
      return Error(4, StrCat("unsupported GGUF version ", version));
    }
    file_.version_ = version;
    const uint64_t tensors_at = pos_;
    ASSIGN_OR_RETURN(n_tensors_, ReadCount("tensor count"));
    const uint64_t kv_at = pos_;
    ASSIGN_OR_RETURN(n_kv_, ReadCount("metadata count"));
    // The smallest key/value is a 1-byte key + type + 1-byte value; the
    // smallest tensor info is a 1-byte name + n_dims + 1 dim + type + offset.
    const uint64_t min_kv = (version == 1 ? 4 : 8) + 1 + 4 + 1;
    const uint64_t min_tensor =
        (version == 1 ? 4 : 8) + 1 + 4 + (version == 1 ? 4 : 8) + 4 + 8;
    if (n_kv_ > remaining() / min_kv) {
      return Error(kv_at,
                   StrCat("metadata count ", n_kv_, " cannot fit in the file"));
    }
    if (n_tensors_ > remaining() / min_tensor) {
      return Error(tensors_at, StrCat("tensor count ", n_tensors_,
                                      " cannot fit in the file"));
    }
    return absl::OkStatus();
  }

  absl::Status ParseMetadata() {
    file_.metadata_.reserve(n_kv_);
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const uint64_t at = pos_;
      ASSIGN_OR_RETURN(std::string_view key,
                       ReadString(StrCat("key #", i), kMaxKeyLength));
      if (key.empty()) return Error(at, StrCat("key #", i, " is empty"));
      const uint64_t type_at = pos_;
      ASSIGN_OR_RETURN(uint32_t type_id, Read<uint32_t>("value type"));
      if (type_id >= kValueTypeCount) {
        return Error(type_at, StrCat("key '", key, "' has invalid value type ",
                                     type_id));
      }
      GgufValue value;
      value.type = static_cast<ValueType>(type_id);
      value.file_offset = pos_;
      RETURN_IF_ERROR(ParseValue(key, value));
      auto [it, inserted] =
          file_.metadata_index_.emplace(key, file_.metadata_.size());
      if (!inserted) {
        // Some converters wrote a key twice with the same value; that is
        // harmless, a conflicting repeat is not.
        if (!SameEncoding(file_.metadata_[it->second].second, value)) {
          return Error(
              at, StrCat("duplicate key '", key, "' with a different value"));
        }
        continue;
      }
      file_.metadata_.emplace_back(key, std::move(value));
    }
    return absl::OkStatus();
  }

  // Whether two values have the same type and are encoded byte for byte
  // alike.
  bool SameEncoding(const GgufValue& a, const GgufValue& b) const {
    return a.type == b.type && a.encoded_size == b.encoded_size &&
           std::memcmp(bytes_.data() + a.file_offset,
                       bytes_.data() + b.file_offset, a.encoded_size) == 0;
  }

  absl::Status ParseValue(std::string_view key, GgufValue& value) {
    RETURN_IF_ERROR(ParseValueBody(key, value));
    value.encoded_size = pos_ - value.file_offset;
    return absl::OkStatus();
  }

  absl::Status ParseValueBody(std::string_view key, GgufValue& value) {
    if (value.type == ValueType::kString) {
      ASSIGN_OR_RETURN(value.str,
                       ReadString(StrCat("value of '", key, "'"),
                                  std::numeric_limits<uint64_t>::max()));
      return absl::OkStatus();
    }
    if (value.type != ValueType::kArray) {
      const size_t size = ScalarSize(value.type);
      RETURN_IF_ERROR(Need(size, StrCat("value of '", key, "'")));
      value.raw = bytes_.data() + pos_;
      if (value.type == ValueType::kBool && *value.raw > 1) {
        return Error(
            pos_, StrCat("key '", key, "' has bool value ", int{*value.raw}));
      }
      pos_ += size;
      return absl::OkStatus();
    }
    const uint64_t type_at = pos_;
    ASSIGN_OR_RETURN(uint32_t elem_id, Read<uint32_t>("array element type"));
    if (elem_id >= kValueTypeCount) {
      return Error(type_at, StrCat("array '", key,
                                   "' has invalid element type ", elem_id));
    }
    value.element_type = static_cast<ValueType>(elem_id);
    if (value.element_type == ValueType::kArray) {
      return Error(type_at, StrCat("array '", key,
                                   "' holds arrays (nested arrays are "
                                   "not supported)"));
    }
    const uint64_t count_at = pos_;
    ASSIGN_OR_RETURN(value.count, ReadCount("array length"));
    if (value.element_type == ValueType::kString) {
      const uint64_t min_size = file_.version_ == 1 ? 4 : 8;
      if (value.count > remaining() / min_size) {
        return Error(count_at, StrCat("array '", key, "' length ", value.count,
                                      " cannot fit in the file"));
      }
      value.strings.reserve(value.count);
      for (uint64_t i = 0; i < value.count; ++i) {
        ASSIGN_OR_RETURN(std::string_view s,
                         ReadString(StrCat("element ", i, " of '", key, "'"),
                                    std::numeric_limits<uint64_t>::max()));
        value.strings.push_back(s);
      }
      return absl::OkStatus();
    }
    const size_t size = ScalarSize(value.element_type);
    if (value.count > remaining() / size) {
      return Error(count_at, StrCat("array '", key, "' length ", value.count,
                                    " cannot fit in the file"));
    }
    value.raw = bytes_.data() + pos_;
    if (value.element_type == ValueType::kBool) {
      for (uint64_t i = 0; i < value.count; ++i) {
        if (value.raw[i] > 1) {
          return Error(pos_ + i,
                       StrCat("array '", key, "' has a bool that is not 0/1"));
        }
      }
    }
    pos_ += value.count * size;
    return absl::OkStatus();
  }

  absl::Status ParseAlignment() {
    const GgufValue* v = file_.Find("general.alignment");
    if (v == nullptr) return absl::OkStatus();
    if (v->type != ValueType::kUint32) {
      return Error(v->file_offset, StrCat("general.alignment must be u32, not ",
                                          ValueTypeName(v->type)));
    }
    const uint32_t a = static_cast<uint32_t>(ReadAsUint(v->type, v->raw));
    if (a == 0 || (a & (a - 1)) != 0 || a > kMaxAlignment) {
      return Error(v->file_offset, StrCat("general.alignment ", a,
                                          " is not a power of two in [1, ",
                                          kMaxAlignment, "]"));
    }
    file_.alignment_ = a;
    return absl::OkStatus();
  }

  absl::Status ParseTensorInfos() {
    file_.tensors_.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      const uint64_t at = pos_;
      ASSIGN_OR_RETURN(
          std::string_view name,
          ReadString(StrCat("tensor #", i, " name"), kMaxTensorNameLength));
      if (name.empty()) return Error(at, StrCat("tensor #", i, " has no name"));
      const std::string label = StrCat("tensor '", name, "'");
      TensorInfo t;
      t.name = std::string(name);
      const uint64_t dims_at = pos_;
      ASSIGN_OR_RETURN(t.n_dims, Read<uint32_t>("dimension count"));
      if (t.n_dims < 1 || t.n_dims > kMaxDims) {
        return Error(dims_at, StrCat(label, " has ", t.n_dims,
                                     " dimensions (1..4 allowed)"));
      }
      uint64_t n_elements = 1;
      for (uint32_t d = 0; d < t.n_dims; ++d) {
        const uint64_t dim_at = pos_;
        uint64_t dim;
        if (file_.version_ == 1) {
          ASSIGN_OR_RETURN(uint32_t d32, Read<uint32_t>("dimension"));
          dim = d32;
        } else {
          ASSIGN_OR_RETURN(dim, Read<uint64_t>("dimension"));
        }
        if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Error(dim_at, StrCat(label, " dimension ", d, " (", dim,
                                      ") is negative as int64"));
        }
        if (dim == 0) {
          return Error(dim_at, StrCat(label, " dimension ", d, " is 0"));
        }
        if (n_elements >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim) {
          return Error(dim_at, StrCat(label, " element count overflows"));
        }
        n_elements *= dim;
        t.dims[d] = dim;
      }
      t.n_elements = n_elements;
      const uint64_t type_at = pos_;
      ASSIGN_OR_RETURN(uint32_t type_id, Read<uint32_t>("tensor type"));
      const auto info = tensor::LookupTensorType(type_id);
      if (!info) {
        return Error(type_at, StrCat(label, " has unknown type id ", type_id));
      }
      if (options_.require_supported_types && !info->supported) {
        return Error(type_at,
                     StrCat(label, " has unsupported type ", info->name));
      }
      t.type = static_cast<tensor::TensorType>(type_id);
      if (t.dims[0] % info->block_size != 0) {
        return Error(dims_at,
                     StrCat(label, " of type ", info->name, " has ", t.dims[0],
                            " elements per row, not a multiple "
                            "of the block size ",
                            info->block_size));
      }
      const uint64_t blocks = n_elements / info->block_size;
      if (blocks > std::numeric_limits<uint64_t>::max() / info->type_size) {
        return Error(dims_at, StrCat(label, " byte size overflows"));
      }
      t.n_bytes = blocks * info->type_size;
      const uint64_t offset_at = pos_;
      ASSIGN_OR_RETURN(t.offset, Read<uint64_t>("tensor data offset"));
      if (t.offset % file_.alignment_ != 0) {
        return Error(offset_at,
                     StrCat(label, " data offset ", t.offset,
                            " is not aligned to ", file_.alignment_));
      }
      file_.tensors_.push_back(std::move(t));
      tensor_info_offsets_.push_back(at);
    }
    // Index by name only now: the vector no longer reallocates, so views into
    // the stored names stay valid.
    for (size_t i = 0; i < file_.tensors_.size(); ++i) {
      const std::string& name = file_.tensors_[i].name;
      if (!file_.tensor_index_.emplace(name, i).second) {
        return Error(tensor_info_offsets_[i],
                     StrCat("duplicate tensor name '", name, "'"));
      }
    }
    return absl::OkStatus();
  }

  // The data section holds the tensors in the order of the tensor table,
  // each starting where the previous one ends rounded up to the alignment
  // (the first at 0). llama.cpp's gguf reader refuses any other layout, and
  // every writer (ggml's, gguf-py's, ours) produces exactly this one; gaps,
  // overlaps and reordered or aliased data are signs of a crafted file.
  absl::Status PlaceTensorData() {
    const uint64_t a = file_.alignment_;
    const uint64_t data_offset = (pos_ + a - 1) / a * a;
    file_.data_offset_ = data_offset;
    if (file_.tensors_.empty()) return absl::OkStatus();
    if (data_offset > bytes_.size()) {
      return Error(pos_, "the data section starts past the end of the file");
    }
    const uint64_t data_size = bytes_.size() - data_offset;
    uint64_t expected = 0;  // where the next tensor's data must start
    for (size_t i = 0; i < file_.tensors_.size(); ++i) {
      TensorInfo& t = file_.tensors_[i];
      if (t.offset != expected) {
        return Error(
            tensor_info_offsets_[i],
            StrCat("tensor '", t.name, "' data offset ", t.offset,
                   ", expected ", expected,
                   " (tensor data must follow the tensor table in order, "
                   "each padded to the alignment of ",
                   a, ")"));
      }
      if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
        return Error(
            tensor_info_offsets_[i],
            StrCat("tensor '", t.name, "' data [", t.offset, ", +", t.n_bytes,
                   ") lies outside the data section (", data_size, " bytes)"));
      }
      t.data = bytes_.data() + data_offset + t.offset;
      // Cannot wrap: offset + n_bytes <= data_size, and rounding up adds
      // less than the alignment (at most 2^20).
      expected = (t.offset + t.n_bytes + a - 1) / a * a;
    }
    return absl::OkStatus();
  }

  GgufFile& file_;
  const OpenOptions& options_;
  absl::Span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::vector<uint64_t> tensor_info_offsets_;
};

absl::Status ParseGguf(GgufFile& file, const OpenOptions& options) {
  GgufParser parser(file, options);
  return parser.Parse();
}

}  // namespace ggufd::gguf
