#include "runtime/quantize/model_quantizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/quantize/quantize_mix.h"
#include "runtime/tensor/quantize.h"
#include "runtime/tensor/thread_pool.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::quantize {
namespace {

using tensor::TensorType;

// The version of the block formats llama.cpp stamps into quantized files.
constexpr uint32_t kQuantizationVersion = 2;
// Values converted per chunk: bounds the output buffer (at most 4 bytes a
// value) whatever the tensor size, while giving each thread many rows.
constexpr int64_t kChunkValues = int64_t{1} << 22;

std::string TypeName(TensorType t) {
  return tensor::TensorTypeName(static_cast<uint32_t>(t));
}

bool SameFile(const std::string& a, const std::string& b) {
  if (a == b) return true;
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// An integer hyperparameter; per-layer arrays give their first element
// (llama.cpp's n_head(0)).
absl::StatusOr<int> LayerZeroInt(const gguf::GgufFile& file,
                                 const std::string& key, int dflt) {
  const gguf::GgufValue* v = file.Find(key);
  if (v == nullptr) return dflt;
  int64_t value;
  if (v->type == gguf::ValueType::kArray) {
    ASSIGN_OR_RETURN(std::vector<int64_t> values, file.GetIntArray(key));
    value = values.empty() ? dflt : values[0];
  } else {
    ASSIGN_OR_RETURN(value, file.GetInt(key));
  }
  if (value < 0 || value > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(StrCat(key, " is out of range: ", value));
  }
  return static_cast<int>(value);
}

absl::StatusOr<ModelShape> ReadShape(const gguf::GgufFile& file) {
  ModelShape shape;
  ASSIGN_OR_RETURN(std::string_view arch,
                   file.GetStringOr("general.architecture", ""));
  shape.arch = std::string(arch);
  ASSIGN_OR_RETURN(shape.n_layer,
                   LayerZeroInt(file, StrCat(arch, ".block_count"), 0));
  ASSIGN_OR_RETURN(
      shape.n_head,
      LayerZeroInt(file, StrCat(arch, ".attention.head_count"), 0));
  ASSIGN_OR_RETURN(shape.n_head_kv,
                   LayerZeroInt(file, StrCat(arch, ".attention.head_count_kv"),
                                shape.n_head));
  ASSIGN_OR_RETURN(shape.n_expert,
                   LayerZeroInt(file, StrCat(arch, ".expert_count"), 0));
  shape.is_70b = shape.arch == "llama" && shape.n_layer == 80 &&
                 shape.n_head != shape.n_head_kv;
  return shape;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// The output file while it is being written: removed unless Commit()
// renamed it into place.
class TempOutput {
 public:
  TempOutput() = default;
  TempOutput(const TempOutput&) = delete;
  TempOutput& operator=(const TempOutput&) = delete;
  ~TempOutput() {
    file_.reset();
    if (!path_.empty() && !committed_) std::remove(path_.c_str());
  }

  absl::Status Open(const std::string& final_path) {
    final_path_ = final_path;
    path_ = final_path + ".tmp";
    file_.reset(std::fopen(path_.c_str(), "wb"));
    if (file_ == nullptr) {
      const std::string error = std::strerror(errno);
      path_.clear();  // nothing of ours to remove
      return absl::PermissionDeniedError(
          StrCat("cannot create ", final_path_, ".tmp: ", error));
    }
    return absl::OkStatus();
  }

  absl::Status Write(const void* data, size_t n) {
    if (n != 0 && std::fwrite(data, 1, n, file_.get()) != n) {
      return absl::DataLossError(
          StrCat("short write to ", path_, ": ", std::strerror(errno)));
    }
    written_ += n;
    return absl::OkStatus();
  }

  // Zeros up to the next multiple of `alignment` (relative to `base`).
  absl::Status Pad(uint64_t base, uint32_t alignment) {
    static constexpr uint8_t kZeros[256] = {};
    uint64_t n = (alignment - (written_ - base) % alignment) % alignment;
    while (n > 0) {
      const uint64_t step = std::min<uint64_t>(n, sizeof(kZeros));
      RETURN_IF_ERROR(Write(kZeros, step));
      n -= step;
    }
    return absl::OkStatus();
  }

  uint64_t written() const { return written_; }

  absl::Status Commit() {
    std::FILE* f = file_.release();
    if (std::fclose(f) != 0) {
      return absl::DataLossError(StrCat("cannot close ", path_));
    }
    if (std::rename(path_.c_str(), final_path_.c_str()) != 0) {
      return absl::PermissionDeniedError(StrCat("cannot rename ", path_, " to ",
                                                final_path_, ": ",
                                                std::strerror(errno)));
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  std::string path_;
  std::string final_path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// Converts one tensor chunk by chunk, rows spread over the pool, and
// appends its bytes to `out`.
absl::Status ConvertTensor(const gguf::TensorInfo& t, TensorType to,
                           tensor::ThreadPool& pool, TempOutput& out,
                           const std::function<void(uint64_t)>& advanced) {
  const int64_t ne0 = static_cast<int64_t>(t.row_length());
  if (t.n_elements == 0) return absl::OkStatus();  // a zero dimension
  const int64_t rows = static_cast<int64_t>(t.rows());
  const size_t in_row = tensor::RowBytes(t.type, ne0);
  const size_t out_row = tensor::RowBytes(to, ne0);
  const tensor::DequantizeRowFn dequantize =
      tensor::Traits(t.type).dequantize_row;
  const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkValues / ne0);
  std::vector<uint8_t> buffer(
      static_cast<size_t>(std::min(rows, rows_per_chunk)) * out_row);
  std::vector<std::vector<float>> scratch(pool.size(), std::vector<float>(ne0));
  std::vector<absl::Status> errors(pool.size());
  for (int64_t first = 0; first < rows; first += rows_per_chunk) {
    const int64_t n = std::min(rows_per_chunk, rows - first);
    pool.ParallelFor(n, [&](int64_t begin, int64_t end, int thread) {
      float* row = scratch[thread].data();
      for (int64_t r = begin; r < end && errors[thread].ok(); ++r) {
        dequantize(t.data + (first + r) * in_row, row, ne0);
        absl::Status s =
            tensor::QuantizeRow(to, row, ne0, buffer.data() + r * out_row);
        if (!s.ok()) {
          errors[thread] = absl::InvalidArgumentError(absl::StrFormat(
              "tensor %s row %d: %s", t.name, first + r, s.message()));
        }
      }
    });
    for (const absl::Status& s : errors) RETURN_IF_ERROR(s);
    RETURN_IF_ERROR(out.Write(buffer.data(), static_cast<size_t>(n) * out_row));
    advanced(static_cast<uint64_t>(n * ne0));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QuantizeReport> QuantizeModel(const QuantizeOptions& options) {
  if (options.output_path.empty()) {
    return absl::InvalidArgumentError("no output path");
  }
  if (SameFile(options.input_path, options.output_path) ||
      SameFile(options.input_path, options.output_path + ".tmp")) {
    return absl::InvalidArgumentError(
        StrCat("output ", options.output_path, " is the input file"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file,
                   gguf::GgufFile::Open(options.input_path));
  ASSIGN_OR_RETURN(ModelShape shape, ReadShape(*file));

  std::vector<TensorDesc> descs;
  for (const gguf::TensorInfo& t : file->tensors()) {
    descs.push_back({.name = t.name,
                     .n_dims = t.n_dims,
                     .ne0 = t.row_length(),
                     .type = t.type});
  }
  const std::vector<TensorPlan> plans =
      PlanTensorTypes(options.file_type, options.pure, shape, descs);

  QuantizeReport report;
  uint64_t total_values = 0;
  gguf::GgufWriter writer(file->alignment());
  for (const auto& [key, value] : file->metadata()) {
    if (key == "general.quantization_version" || key == "general.file_type") {
      continue;
    }
    writer.AddValue(key, value);
  }
  writer.AddUint32("general.quantization_version", kQuantizationVersion);
  writer.AddUint32("general.file_type",
                   static_cast<uint32_t>(options.file_type));
  for (size_t i = 0; i < plans.size(); ++i) {
    const gguf::TensorInfo& t = file->tensors()[i];
    const TensorPlan& plan = plans[i];
    if (plan.quantize) {
      if (tensor::Traits(t.type).dequantize_row == nullptr) {
        return absl::UnimplementedError(
            StrCat("tensor ", t.name, ": cannot read type ", TypeName(t.type)));
      }
      if (!tensor::CanQuantize(plan.type)) {
        return absl::UnimplementedError(StrCat(
            "tensor ", t.name, ": cannot write type ", TypeName(plan.type)));
      }
    }
    writer.DeclareTensor(t.name, plan.type,
                         absl::MakeConstSpan(t.dims.data(), t.n_dims));
    report.tensors.push_back({.name = t.name,
                              .from = t.type,
                              .to = plan.type,
                              .fallback = plan.fallback});
    report.input_bytes += t.n_bytes;
    total_values += t.n_elements;
  }

  TempOutput out;
  RETURN_IF_ERROR(out.Open(options.output_path));
  const std::vector<uint8_t> header = writer.SerializeHeader();
  RETURN_IF_ERROR(out.Write(header.data(), header.size()));
  const uint64_t data_start = out.written();
  tensor::ThreadPool pool(options.n_threads);
  uint64_t done_values = 0;
  auto advanced = [&](uint64_t n) {
    done_values += n;
    if (options.progress) options.progress(done_values, total_values);
  };
  for (size_t i = 0; i < plans.size(); ++i) {
    const gguf::TensorInfo& t = file->tensors()[i];
    const uint64_t before = out.written();
    if (plans[i].quantize) {
      RETURN_IF_ERROR(ConvertTensor(t, plans[i].type, pool, out, advanced));
    } else {
      RETURN_IF_ERROR(out.Write(t.data, t.n_bytes));
      advanced(t.n_elements);
    }
    report.output_bytes += out.written() - before;
    RETURN_IF_ERROR(out.Pad(data_start, writer.alignment()));
  }
  report.file_bytes = out.written();
  RETURN_IF_ERROR(out.Commit());
  return report;
}

}  // namespace ggufd::quantize
