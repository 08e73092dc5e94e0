// `ggufd inspect FILE [--json]`: the header, metadata and tensor table of a
// GGUF file, after full validation.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/gguf/gguf_file.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

// Arrays longer than this are summarized (length and the first few items):
// a vocabulary would otherwise bury everything else.
constexpr uint64_t kMaxJsonArray = 64;

nlohmann::json ScalarJson(gguf::ValueType type, const uint8_t* p) {
  using gguf::ValueType;
  switch (type) {
    case ValueType::kBool:
      return *p != 0;
    case ValueType::kFloat32:
    case ValueType::kFloat64:
      return gguf::ReadAsDouble(type, p);
    case ValueType::kUint64:
      return gguf::ReadAsUint(type, p);
    default:
      return gguf::ReadAsInt(type, p);
  }
}

nlohmann::json ValueJson(const gguf::GgufValue& v) {
  using gguf::ValueType;
  if (v.type == ValueType::kString) return std::string(v.str);
  if (v.type != ValueType::kArray) return ScalarJson(v.type, v.raw);
  const uint64_t shown =
      std::min(v.count, v.count > kMaxJsonArray ? 8 : kMaxJsonArray);
  nlohmann::json items = nlohmann::json::array();
  for (uint64_t i = 0; i < shown; ++i) {
    if (v.element_type == ValueType::kString) {
      items.push_back(std::string(v.strings[i]));
    } else {
      items.push_back(ScalarJson(v.element_type,
                                 v.raw + i * gguf::ScalarSize(v.element_type)));
    }
  }
  if (v.count <= kMaxJsonArray) return items;
  return {{"array_of", gguf::ValueTypeName(v.element_type)},
          {"length", v.count},
          {"head", items}};
}

std::string DimsString(const gguf::TensorInfo& t) {
  std::vector<uint64_t> dims(t.dims.begin(), t.dims.begin() + t.n_dims);
  return absl::StrJoin(dims, " x ");
}

void PrintJson(const gguf::GgufFile& file) {
  nlohmann::json out;
  out["version"] = file.version();
  out["alignment"] = file.alignment();
  out["data_offset"] = file.data_offset();
  out["file_size"] = file.file_size();
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [key, value] : file.metadata()) {
    metadata[std::string(key)] = ValueJson(value);
  }
  out["metadata"] = std::move(metadata);
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : file.tensors()) {
    tensors.push_back(
        {{"name", t.name},
         {"type", tensor::TensorTypeName(static_cast<uint32_t>(t.type))},
         {"dims",
          std::vector<uint64_t>(t.dims.begin(), t.dims.begin() + t.n_dims)},
         {"offset", t.offset},
         {"bytes", t.n_bytes}});
  }
  out["tensors"] = std::move(tensors);
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
}

void PrintText(const gguf::GgufFile& file) {
  absl::PrintF("GGUF v%d, alignment %d, data at %d, %d bytes\n", file.version(),
               file.alignment(), file.data_offset(), file.file_size());
  absl::PrintF("metadata (%d keys):\n", file.metadata().size());
  for (const auto& [key, value] : file.metadata()) {
    absl::PrintF("  %-40s %s\n", key, gguf::FormatValue(value));
  }
  absl::PrintF("tensors (%d):\n", file.tensors().size());
  uint64_t total = 0;
  for (const auto& t : file.tensors()) {
    absl::PrintF("  %-40s %-8s %-24s @%d (%d bytes)\n", t.name,
                 tensor::TensorTypeName(static_cast<uint32_t>(t.type)),
                 DimsString(t), t.offset, t.n_bytes);
    total += t.n_bytes;
  }
  absl::PrintF("tensor data: %d bytes\n", total);
}

}  // namespace

void RegisterInspectCommand(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("inspect", "Print a GGUF file's metadata and tensors");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("file", *path, "GGUF file")->required();
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([path, json] {
    auto file = gguf::GgufFile::Open(*path);
    if (!file.ok()) {
      std::fprintf(stderr, "ggufd inspect: %s\n",
                   std::string(file.status().message()).c_str());
      ExitCode() = 1;
      return;
    }
    if (*json) {
      PrintJson(**file);
    } else {
      PrintText(**file);
    }
  });
}

}  // namespace ggufd::cli
