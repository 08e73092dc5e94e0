// A strict reader of the Prometheus text exposition format (0.0.4), for
// tests: it checks the structure promtool checks (HELP/TYPE before samples,
// one block per family, valid names, label syntax and escapes, numeric
// values, histogram buckets cumulative with +Inf equal to _count) and
// returns the samples. Written for the tests because promtool (Debian's
// prometheus package, ~100 MB) is not installed by setup.
#ifndef GGUFD_TESTS_SERVICE_EXPOSITION_CHECKER_H_
#define GGUFD_TESTS_SERVICE_EXPOSITION_CHECKER_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace ggufd::testing {

// Sample key: the sample name and its labels as written ({a="1",b="2"}),
// labels sorted by name.
using Samples = std::map<std::string, double>;

absl::StatusOr<Samples> CheckExposition(const std::string& text);

}  // namespace ggufd::testing

#endif  // GGUFD_TESTS_SERVICE_EXPOSITION_CHECKER_H_
