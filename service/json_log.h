// Structured logs: one JSON object per line on stderr, each with a UTC
// timestamp, a level and a message, plus fields. Thread-safe; a line is
// written whole.
#ifndef GGUFD_SERVICE_JSON_LOG_H_
#define GGUFD_SERVICE_JSON_LOG_H_

#include <cstdio>
#include <mutex>
#include <string_view>

#include "nlohmann/json.hpp"

namespace ggufd {

class JsonLog {
 public:
  explicit JsonLog(std::FILE* out = stderr) : out_(out) {}

  // `fields` is a JSON object; its keys join "ts", "level" and "msg".
  void Info(std::string_view msg, nlohmann::json fields = {});
  void Warn(std::string_view msg, nlohmann::json fields = {});
  void Error(std::string_view msg, nlohmann::json fields = {});

 private:
  void Write(std::string_view level, std::string_view msg,
             nlohmann::json fields);
  std::mutex mu_;
  std::FILE* out_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_JSON_LOG_H_
