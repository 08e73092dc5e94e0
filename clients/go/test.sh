#!/usr/bin/env bash
# Runs the Go client's unit and end-to-end tests against a real ggufd.
# Environment: GGUFD_BIN, GGUFCTL_BIN, GGUFD_MODELS_DIR (defaults: the repo's
# build/service/ggufd, build/clients/cpp/ggufctl, models). Prints one summary
# line on success, the whole test log on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export GGUFD_BIN="${GGUFD_BIN:-$root/build/service/ggufd}"
export GGUFCTL_BIN="${GGUFCTL_BIN:-$root/build/clients/cpp/ggufctl}"
export GGUFD_MODELS_DIR="${GGUFD_MODELS_DIR:-$root/models}"
cd "$here"

# The committed stubs must be what the protos generate now.
./gen.sh --check

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
go test -count=1 -v ./... >"$log" 2>&1 || status=$?
passed="$(grep -c -- '^\s*--- PASS' "$log" || true)"
failed="$(grep -c -- '^\s*--- FAIL' "$log" || true)"
if [[ $status -ne 0 || $failed -ne 0 || $passed -eq 0 ]]; then
  cat "$log"
  echo "go-client: $passed passed, $failed failed"
  exit 1
fi
echo "go-client: $passed passed, $failed failed"
