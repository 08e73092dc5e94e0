#!/usr/bin/env bash
# Runs the Java client's end-to-end tests against a real ggufd that the tests start on
# 127.0.0.1 (one per run, port 0). Builds first if needed (setup.sh once, then Maven offline).
# Environment: GGUFD_BIN, GGUFCTL_BIN, GGUFD_MODELS_DIR (defaults: the repository's
# build/service/ggufd, build/clients/cpp/ggufctl, models).
# Prints one summary line on success; the Maven log and the failures otherwise.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export GGUFD_BIN="${GGUFD_BIN:-$root/build/service/ggufd}"
export GGUFCTL_BIN="${GGUFCTL_BIN:-$root/build/clients/cpp/ggufctl}"
export GGUFD_MODELS_DIR="${GGUFD_MODELS_DIR:-$root/models}"
cd "$here"

if [[ ! -f target/.setup-done ]]; then
  ./setup.sh || { echo "java: setup.sh failed" >&2; exit 1; }
fi

log="target/test.log"
rm -rf target/surefire-reports
mvn -o -B test >"$log" 2>&1
status=$?

# Counts from surefire's XML reports: "N passed, N failed, N skipped".
tests=0 failed=0 skipped=0
for report in target/surefire-reports/TEST-*.xml; do
  [[ -f "$report" ]] || continue
  suite="$(grep -m1 -o '<testsuite [^>]*>' "$report")"
  attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$suite"; }
  tests=$((tests + $(attr tests)))
  failed=$((failed + $(attr failures) + $(attr errors)))
  skipped=$((skipped + $(attr skipped)))
done
passed=$((tests - failed - skipped))

if [[ $status -ne 0 || $tests -eq 0 || $failed -ne 0 ]]; then
  grep -v "^\[INFO\] Download" "$log" | sed "s/\x1b\[[0-9;]*m//g" | tail -n 80 >&2
  echo "java: $passed passed, $((failed > 0 ? failed : 1)) failed, $skipped skipped" >&2
  exit 1
fi
echo "java: $passed passed, $failed failed, $skipped skipped"
