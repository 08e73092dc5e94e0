// `ggufd quantize IN OUT TYPE [--pure] [--threads N]`: requantizes a model
// file like llama.cpp's llama-quantize (the mix rule is in
// runtime/quantize/quantize_mix.h). A progress bar goes to stderr when it is
// a terminal.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "runtime/quantize/model_quantizer.h"
#include "service/cli/commands.h"

namespace ggufd::cli {
namespace {

// Redraws one line on stderr at most every 1% of progress.
class ProgressBar {
 public:
  void Update(uint64_t done, uint64_t total) {
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\r[%s%s] %3d%%", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), percent);
    if (percent == 100) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  int last_percent_ = -1;
};

std::string TypeName(tensor::TensorType t) {
  return tensor::TensorTypeName(static_cast<uint32_t>(t));
}

struct QuantizeArgs {
  std::string input;
  std::string output;
  std::string type;
  bool pure = false;
  int threads = 0;
};

int RunQuantize(const QuantizeArgs& args) {
  const auto file_type = quantize::ParseFileType(args.type);
  if (!file_type) {
    std::fprintf(stderr, "ggufd quantize: unknown type %s (one of: %s)\n",
                 args.type.c_str(), quantize::FileTypeNames().c_str());
    return 2;
  }
  ProgressBar bar;
  const bool show_progress = isatty(STDERR_FILENO) != 0;
  quantize::QuantizeOptions options{
      .input_path = args.input,
      .output_path = args.output,
      .file_type = *file_type,
      .pure = args.pure,
      .n_threads = args.threads > 0
                       ? args.threads
                       : static_cast<int>(
                             std::max(1u, std::thread::hardware_concurrency())),
  };
  if (show_progress) {
    options.progress = [&bar](uint64_t done, uint64_t total) {
      bar.Update(done, total);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  auto report = quantize::QuantizeModel(options);
  if (!report.ok()) {
    if (show_progress) std::fputc('\n', stderr);
    std::fprintf(stderr, "ggufd quantize: %s\n",
                 std::string(report.status().message()).c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  int converted = 0;
  for (const auto& t : report->tensors) {
    if (t.from == t.to) continue;
    ++converted;
    std::printf("%-40s %6s -> %-6s%s\n", t.name.c_str(),
                TypeName(t.from).c_str(), TypeName(t.to).c_str(),
                t.fallback ? "  (row length: fallback)" : "");
  }
  std::printf(
      "%s: %d of %zu tensors converted, %s%s, data %.2f MiB -> %.2f MiB, "
      "%.2f s, %d threads\n",
      args.output.c_str(), converted, report->tensors.size(),
      std::string(quantize::FileTypeName(*file_type)).c_str(),
      args.pure ? " (pure)" : "",
      static_cast<double>(report->input_bytes) / (1 << 20),
      static_cast<double>(report->output_bytes) / (1 << 20), seconds,
      options.n_threads);
  return 0;
}

}  // namespace

void RegisterQuantizeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "quantize", "Requantize a GGUF model to another tensor type or mix");
  auto args = std::make_shared<QuantizeArgs>();
  cmd->add_option("input", args->input, "GGUF model to read")->required();
  cmd->add_option("output", args->output, "GGUF file to write")->required();
  cmd->add_option("type", args->type,
                  "Q4_K_M, Q5_K_M, Q8_0, Q6_K, IQ4_XS, F16 ... "
                  "(llama-quantize names)")
      ->required();
  cmd->add_flag("--pure", args->pure,
                "Every quantizable tensor in TYPE (no Q6_K output, no mix)");
  cmd->add_option("--threads", args->threads,
                  "Compute threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  cmd->callback([args] { ExitCode() = RunQuantize(*args); });
}

}  // namespace ggufd::cli
