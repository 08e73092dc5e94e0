// Requantizes a GGUF model file (llama.cpp's llama-quantize): every tensor
// is read (dequantized to float when needed), converted to the type the mix
// (quantize_mix.h) chooses with the reference quantizers (tensor/quantize.h),
// and streamed to OUT.tmp, which is renamed to OUT once complete. Metadata is
// copied in order, with general.quantization_version = 2 and
// general.file_type = the file type's LLAMA_FTYPE number appended.
#ifndef GGUFD_RUNTIME_QUANTIZE_MODEL_QUANTIZER_H_
#define GGUFD_RUNTIME_QUANTIZE_MODEL_QUANTIZER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/quantize/file_type.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd::quantize {

struct QuantizeOptions {
  std::string input_path;
  std::string output_path;  // must not be the input file
  FileType file_type = FileType::kQ8_0;
  bool pure = false;  // every quantizable tensor in the default type
  int n_threads = 1;
  // Called from the calling thread after each chunk of rows with the values
  // done so far and the total to convert.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct QuantizedTensor {
  std::string name;
  tensor::TensorType from;
  tensor::TensorType to;
  bool fallback = false;  // the mix's type did not fit the row length
};

struct QuantizeReport {
  std::vector<QuantizedTensor> tensors;  // in file order
  uint64_t input_bytes = 0;              // tensor data of the input
  uint64_t output_bytes = 0;             // tensor data of the output
  uint64_t file_bytes = 0;               // the whole output file
};

absl::StatusOr<QuantizeReport> QuantizeModel(const QuantizeOptions& options);

}  // namespace ggufd::quantize

#endif  // GGUFD_RUNTIME_QUANTIZE_MODEL_QUANTIZER_H_
