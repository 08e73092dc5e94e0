#include "service/json_log.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ggufd {

void JsonLog::Info(std::string_view msg, nlohmann::json fields) {
  Write("info", msg, std::move(fields));
}
void JsonLog::Warn(std::string_view msg, nlohmann::json fields) {
  Write("warn", msg, std::move(fields));
}
void JsonLog::Error(std::string_view msg, nlohmann::json fields) {
  Write("error", msg, std::move(fields));
}

void JsonLog::Write(std::string_view level, std::string_view msg,
                    nlohmann::json fields) {
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                absl::UTCTimeZone());
  line["level"] = std::string(level);
  line["msg"] = std::string(msg);
  if (fields.is_object()) {
    for (auto& [key, value] : fields.items()) line[key] = std::move(value);
  }
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace ggufd
