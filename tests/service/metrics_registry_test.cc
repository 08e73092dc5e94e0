#include "service/metrics/metrics_registry.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/exposition_checker.h"

namespace ggufd::metrics {
namespace {

using ::ggufd::testing::CheckExposition;

TEST(MetricsRegistryTest, RendersCountersGaugesAndHistogramsExactly) {
  Registry registry;
  Family& requests =
      registry.AddCounter("app_requests_total", "Requests.", {"code"});
  Family& depth = registry.AddGauge("app_depth", "Depth.");
  Family& latency = registry.AddHistogram("app_latency_seconds", "Latency.",
                                          {"runtime"}, {0.1, 1});
  requests.Add({"OK"});
  requests.Add({"OK"}, 2);
  depth.Set({}, 3);
  latency.Observe({"default"}, 0.05);
  latency.Observe({"default"}, 0.5);
  latency.Observe({"default"}, 7);
  EXPECT_EQ(registry.Render(),
            "# HELP app_requests_total Requests.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{code=\"OK\"} 3\n"
            "# HELP app_depth Depth.\n"
            "# TYPE app_depth gauge\n"
            "app_depth 3\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{runtime=\"default\",le=\"0."
            "10000000000000001\"} 1\n"
            "app_latency_seconds_bucket{runtime=\"default\",le=\"1\"} 2\n"
            "app_latency_seconds_bucket{runtime=\"default\",le=\"+Inf\"} 3\n"
            "app_latency_seconds_sum{runtime=\"default\"} 7.5499999999999998\n"
            "app_latency_seconds_count{runtime=\"default\"} 3\n");
  EXPECT_TRUE(CheckExposition(registry.Render()).ok());
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  Family& f = registry.AddGauge("g", "Line one\nback\\slash", {"name"});
  f.Set({"a\"b\\c\nd"}, -1.5);
  const std::string text = registry.Render();
  EXPECT_THAT(text,
              ::testing::HasSubstr("# HELP g Line one\\nback\\\\slash\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("g{name=\"a\\\"b\\\\c\\nd\"} -1.5\n"));
  auto samples = CheckExposition(text);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(samples->at("g{name=\"a\"b\\c\nd\"}"), -1.5);
}

TEST(MetricsRegistryTest, CollectorsRunBeforeRendering) {
  Registry registry;
  Family& g = registry.AddGauge("live", "Read at scrape time.");
  int calls = 0;
  registry.AddCollector([&] { g.Set({}, ++calls); });
  EXPECT_THAT(registry.Render(), ::testing::HasSubstr("live 1\n"));
  EXPECT_THAT(registry.Render(), ::testing::HasSubstr("live 2\n"));
}

TEST(MetricsRegistryTest, KeepOnlyDropsTheSeriesOfThingsThatAreGone) {
  Registry registry;
  Family& g = registry.AddGauge("vllm:num_requests_waiting", "Waiting.",
                                {"model_name"});
  g.Set({"a"}, 1);
  g.Set({"b"}, 2);
  g.Set({"c"}, 3);
  g.KeepOnly({{"c"}, {"a"}, {"never-set"}});
  EXPECT_EQ(registry.Render(),
            "# HELP vllm:num_requests_waiting Waiting.\n"
            "# TYPE vllm:num_requests_waiting gauge\n"
            "vllm:num_requests_waiting{model_name=\"a\"} 1\n"
            "vllm:num_requests_waiting{model_name=\"c\"} 3\n");
  g.KeepOnly({});
  EXPECT_EQ(registry.Render(),
            "# HELP vllm:num_requests_waiting Waiting.\n"
            "# TYPE vllm:num_requests_waiting gauge\n");
  EXPECT_TRUE(CheckExposition(registry.Render()).ok());
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  Family& c = registry.AddCounter("c_total", "C.", {"t"});
  Family& h = registry.AddHistogram("h", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        c.Add({"x"});
        h.Observe({}, 0.5);
        if (i % 100 == 0) registry.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value({"x"}), 4000);
  EXPECT_EQ(h.Value({}), 4000);
  EXPECT_TRUE(CheckExposition(registry.Render()).ok());
}

TEST(ExpositionCheckerTest, RejectsMalformedText) {
  EXPECT_FALSE(CheckExposition("x 1\n").ok());  // no TYPE
  EXPECT_FALSE(CheckExposition("# TYPE x gauge\nx{a=\"1} 1\n").ok());
  EXPECT_FALSE(CheckExposition("# TYPE x gauge\nx one\n").ok());
  EXPECT_FALSE(CheckExposition("# TYPE x counter\nx -1\n").ok());
  EXPECT_FALSE(CheckExposition("# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n"
                               "# HELP x again\n")
                   .ok());
  EXPECT_FALSE(CheckExposition("# TYPE h histogram\n"
                               "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                               "h_count 1\nh_sum 1\n")
                   .ok());
  EXPECT_TRUE(CheckExposition("# TYPE x gauge\nx 1\n").ok());
}

}  // namespace
}  // namespace ggufd::metrics
