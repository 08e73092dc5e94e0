#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, seeded from
# ../shared/testdata; new corpus entries go to a scratch folder.
set -euo pipefail
build=$1 seconds=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data="$root/../shared/testdata"
status=0
for fuzzer in "$build"/tests/fuzz/*_fuzzer; do
  [[ -x $fuzzer ]] || continue
  name=$(basename "$fuzzer")
  scratch=$(mktemp -d)
  echo "--- $name"
  if ! "$fuzzer" "$scratch" "$data/kernels" "$data/nonconforming" \
      "$data/legacy/gguf-v1" -max_total_time="$seconds" -max_len=65536 \
      -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 2>"$scratch.log"; then
    tail -40 "$scratch.log"
    status=1
  else
    grep -E '^(Done|stat::number_of_executed_units)' "$scratch.log" || true
  fi
  rm -rf "$scratch" "$scratch.log"
done
exit $status
