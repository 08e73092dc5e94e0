#include "service/metrics/metrics_registry.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ggufd::metrics {
namespace {

[[maybe_unused]] bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%.17g", value);
}

Family::Family(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names,
               std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {
  assert(ValidName(name_));
  for (const std::string& label : label_names_) {
    assert(ValidName(label) && label != "le");
    (void)label;
  }
  assert(std::is_sorted(buckets_.begin(), buckets_.end()));
}

Family::Series& Family::SeriesLocked(const LabelValues& labels) {
  assert(labels.size() == label_names_.size());
  Series& series = series_[labels];
  if (type_ == MetricType::kHistogram && series.counts.empty()) {
    series.counts.assign(buckets_.size(), 0);
  }
  return series;
}

void Family::Add(const LabelValues& labels, double value) {
  assert(type_ != MetricType::kHistogram);
  assert(type_ != MetricType::kCounter || value >= 0);
  std::lock_guard<std::mutex> lock(mu_);
  SeriesLocked(labels).value += value;
}

void Family::Set(const LabelValues& labels, double value) {
  assert(type_ == MetricType::kGauge);
  std::lock_guard<std::mutex> lock(mu_);
  SeriesLocked(labels).value = value;
}

void Family::Observe(const LabelValues& labels, double value) {
  assert(type_ == MetricType::kHistogram);
  std::lock_guard<std::mutex> lock(mu_);
  Series& series = SeriesLocked(labels);
  const auto bucket = std::lower_bound(buckets_.begin(), buckets_.end(), value);
  if (bucket != buckets_.end()) ++series.counts[bucket - buckets_.begin()];
  series.sum += value;
  ++series.count;
}

double Family::Value(const LabelValues& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(labels);
  if (it == series_.end()) return 0;
  return type_ == MetricType::kHistogram ? static_cast<double>(it->second.count)
                                         : it->second.value;
}

void Family::KeepOnly(const std::vector<LabelValues>& keep) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(series_, [&](const auto& entry) {
    return std::find(keep.begin(), keep.end(), entry.first) == keep.end();
  });
}

std::string Family::LabelText(const LabelValues& labels,
                              const std::string& le) const {
  std::string out;
  for (size_t i = 0; i < label_names_.size(); ++i) {
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, label_names_[i], "=\"", EscapeLabelValue(labels[i]),
                    "\"");
  }
  if (!le.empty()) {
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, "le=\"", le, "\"");
  }
  return out.empty() ? out : "{" + out + "}";
}

void Family::Render(std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", EscapeHelp(help_), "\n");
  absl::StrAppend(&out, "# TYPE ", name_, " ", TypeName(type_), "\n");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, series] : series_) {
    if (type_ != MetricType::kHistogram) {
      absl::StrAppend(&out, name_, LabelText(labels, ""), " ",
                      FormatValue(series.value), "\n");
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      cumulative += series.counts[b];
      absl::StrAppend(&out, name_, "_bucket",
                      LabelText(labels, FormatValue(buckets_[b])), " ",
                      cumulative, "\n");
    }
    absl::StrAppend(&out, name_, "_bucket", LabelText(labels, "+Inf"), " ",
                    series.count, "\n");
    absl::StrAppend(&out, name_, "_sum", LabelText(labels, ""), " ",
                    FormatValue(series.sum), "\n");
    absl::StrAppend(&out, name_, "_count", LabelText(labels, ""), " ",
                    series.count, "\n");
  }
}

Family& Registry::Add(std::unique_ptr<Family> family) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) {
    assert(f->name() != family->name());
    (void)f;
  }
  families_.push_back(std::move(family));
  return *families_.back();
}

Family& Registry::AddCounter(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names) {
  return Add(std::make_unique<Family>(name, help, MetricType::kCounter,
                                      std::move(label_names),
                                      std::vector<double>{}));
}

Family& Registry::AddGauge(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names) {
  return Add(std::make_unique<Family>(name, help, MetricType::kGauge,
                                      std::move(label_names),
                                      std::vector<double>{}));
}

Family& Registry::AddHistogram(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names,
                               std::vector<double> buckets) {
  return Add(std::make_unique<Family>(name, help, MetricType::kHistogram,
                                      std::move(label_names),
                                      std::move(buckets)));
}

void Registry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect();
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

}  // namespace ggufd::metrics
