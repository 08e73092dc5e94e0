// A small metrics registry (counters, gauges and histograms with labels)
// that renders the Prometheus text exposition format (version 0.0.4).
// prometheus-cpp, the usual choice, is not packaged for Debian 12, so ggufd
// keeps this minimal equivalent. Every method is thread-safe.
#ifndef GGUFD_SERVICE_METRICS_METRICS_REGISTRY_H_
#define GGUFD_SERVICE_METRICS_METRICS_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ggufd::metrics {

// Label values, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

enum class MetricType { kCounter, kGauge, kHistogram };

// One metric name with its help text, label names and one series per
// distinct label-value combination.
class Family {
 public:
  Family(std::string name, std::string help, MetricType type,
         std::vector<std::string> label_names, std::vector<double> buckets);

  // Counter: adds `value` (>= 0). Gauge: adds (may be negative).
  void Add(const LabelValues& labels, double value = 1);
  // Gauge only.
  void Set(const LabelValues& labels, double value);
  // Histogram only.
  void Observe(const LabelValues& labels, double value);

  // Counter/gauge value, or a histogram's count; 0 for an unseen series.
  double Value(const LabelValues& labels) const;

  // Drops every series whose labels are not in `keep`, for families that
  // describe a changing set of things (a deleted runtime has no series).
  void KeepOnly(const std::vector<LabelValues>& keep);

  // Appends this family in text exposition format.
  void Render(std::string& out) const;

  const std::string& name() const { return name_; }

 private:
  struct Series {
    double value = 0;              // counter / gauge
    std::vector<uint64_t> counts;  // histogram: per bucket, not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  Series& SeriesLocked(const LabelValues& labels);
  std::string LabelText(const LabelValues& labels, const std::string& le) const;

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;  // ascending upper bounds, no +Inf
  mutable std::mutex mu_;
  std::map<LabelValues, Series> series_;
};

class Registry {
 public:
  // The returned families live as long as the registry. Names must be
  // valid Prometheus names; counters should end in "_total".
  Family& AddCounter(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  Family& AddGauge(const std::string& name, const std::string& help,
                   std::vector<std::string> label_names = {});
  Family& AddHistogram(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names,
                       std::vector<double> buckets);

  // Called before each Render, to refresh gauges that are read on demand.
  void AddCollector(std::function<void()> collect);

  // The whole registry in text exposition format.
  std::string Render() const;

 private:
  Family& Add(std::unique_ptr<Family> family);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void()>> collectors_;
};

// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& value);
// Formats a sample value: "+Inf", "-Inf", "NaN" or a round-trippable number.
std::string FormatValue(double value);

}  // namespace ggufd::metrics

#endif  // GGUFD_SERVICE_METRICS_METRICS_REGISTRY_H_
