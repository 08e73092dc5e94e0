#include "tests/service/exposition_checker.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ggufd::testing {
namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':' || (!first && c >= '0' && c <= '9');
}

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0)) return false;
  }
  return true;
}

absl::StatusOr<double> ParseValue(const std::string& s) {
  if (s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  if (s == "NaN") return NAN;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) {
    return absl::InvalidArgumentError(absl::StrCat("bad value '", s, "'"));
  }
  return v;
}

struct Family {
  std::string type;
  bool has_help = false;
};

// Parses `name{labels} value` into name, sorted labels and value.
absl::Status ParseSample(const std::string& line, std::string& name,
                         std::map<std::string, std::string>& labels,
                         double& value) {
  size_t i = 0;
  while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
  name = line.substr(0, i);
  if (!ValidName(name)) return absl::InvalidArgumentError("bad sample name");
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t start = i;
      while (i < line.size() && IsNameChar(line[i], i == start)) ++i;
      const std::string label = line.substr(start, i - start);
      if (!ValidName(label) || i + 1 >= line.size() || line[i] != '=' ||
          line[i + 1] != '"') {
        return absl::InvalidArgumentError("bad label in: " + line);
      }
      i += 2;
      std::string v;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (i + 1 >= line.size()) return absl::InvalidArgumentError("escape");
          const char e = line[i + 1];
          if (e == 'n') {
            v += '\n';
          } else if (e == '\\' || e == '"') {
            v += e;
          } else {
            return absl::InvalidArgumentError("bad escape in: " + line);
          }
          i += 2;
        } else {
          v += line[i++];
        }
      }
      if (i >= line.size()) return absl::InvalidArgumentError("open quote");
      ++i;  // closing quote
      if (!labels.emplace(label, v).second) {
        return absl::InvalidArgumentError("duplicate label in: " + line);
      }
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return absl::InvalidArgumentError("open brace");
    ++i;
  }
  if (i >= line.size() || line[i] != ' ') {
    return absl::InvalidArgumentError("no value in: " + line);
  }
  auto parsed = ParseValue(line.substr(i + 1));
  if (!parsed.ok()) return parsed.status();
  value = *parsed;
  return absl::OkStatus();
}

std::string Key(const std::string& name,
                const std::map<std::string, std::string>& labels) {
  std::string key = name;
  if (labels.empty()) return key;
  key += "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    absl::StrAppend(&key, first ? "" : ",", k, "=\"", v, "\"");
    first = false;
  }
  return key + "}";
}

}  // namespace

absl::StatusOr<Samples> CheckExposition(const std::string& text) {
  if (!text.empty() && text.back() != '\n') {
    return absl::InvalidArgumentError("must end with a newline");
  }
  Samples samples;
  std::map<std::string, Family> families;
  std::set<std::string> closed;  // families whose block has ended
  std::string current;
  // Histogram series: bucket counts by le, and _count, per label set.
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;
  std::map<std::string, double> counts;
  const std::vector<std::string> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (const std::string& line : lines) {
    if (line.rfind("# ", 0) == 0) {
      std::vector<std::string> parts =
          absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() < 3 || (parts[1] != "HELP" && parts[1] != "TYPE")) {
        continue;  // a plain comment
      }
      const std::string& name = parts[2];
      if (!ValidName(name))
        return absl::InvalidArgumentError("bad name " + name);
      if (name != current) {
        if (closed.count(name)) {
          return absl::InvalidArgumentError("family split: " + name);
        }
        if (!current.empty()) closed.insert(current);
        current = name;
      }
      Family& f = families[name];
      if (parts[1] == "HELP") {
        if (f.has_help) return absl::InvalidArgumentError("two HELP: " + name);
        f.has_help = true;
      } else {
        if (!f.type.empty()) return absl::InvalidArgumentError("two TYPE");
        if (parts.size() != 4) return absl::InvalidArgumentError("TYPE arity");
        f.type = parts[3];
        if (f.type != "counter" && f.type != "gauge" && f.type != "histogram" &&
            f.type != "summary" && f.type != "untyped") {
          return absl::InvalidArgumentError("bad type " + f.type);
        }
      }
      continue;
    }
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
    if (absl::Status s = ParseSample(line, name, labels, value); !s.ok()) {
      return s;
    }
    std::string family = name;
    auto it = families.find(family);
    if (it == families.end() || it->second.type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (name.size() > sfx.size() &&
            name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
          const std::string base = name.substr(0, name.size() - sfx.size());
          if (families.count(base)) family = base;
        }
      }
    }
    if (family != current || families[family].type.empty()) {
      return absl::InvalidArgumentError("sample outside its TYPE block: " +
                                        line);
    }
    if (families[family].type == "counter" && value < 0) {
      return absl::InvalidArgumentError("negative counter: " + line);
    }
    if (families[family].type == "histogram") {
      if (name == family) {
        return absl::InvalidArgumentError("bare histogram sample: " + line);
      }
      if (name == family + "_bucket") {
        auto le = labels.find("le");
        if (le == labels.end()) return absl::InvalidArgumentError("no le");
        auto bound = ParseValue(le->second);
        if (!bound.ok()) return bound.status();
        std::map<std::string, std::string> rest = labels;
        rest.erase("le");
        buckets[Key(family, rest)].push_back({*bound, value});
      } else if (name == family + "_count") {
        counts[Key(family, labels)] = value;
      }
    }
    const std::string key = Key(name, labels);
    if (!samples.emplace(key, value).second) {
      return absl::InvalidArgumentError("duplicate sample " + key);
    }
  }
  for (const auto& [series, list] : buckets) {
    for (size_t i = 1; i < list.size(); ++i) {
      if (list[i].first <= list[i - 1].first ||
          list[i].second < list[i - 1].second) {
        return absl::InvalidArgumentError("buckets not cumulative: " + series);
      }
    }
    if (list.empty() || !std::isinf(list.back().first)) {
      return absl::InvalidArgumentError("no +Inf bucket: " + series);
    }
    auto c = counts.find(series);
    if (c == counts.end() || c->second != list.back().second) {
      return absl::InvalidArgumentError("+Inf bucket != _count: " + series);
    }
  }
  return samples;
}

}  // namespace ggufd::testing
