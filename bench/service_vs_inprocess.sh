#!/usr/bin/env bash
# What serving costs: starts `ggufd serve` on 127.0.0.1 with the default model
# and runs build/bench/service_bench against it and against an in-process
# Runtime on the same model and thread count (time to first token, decode
# tokens/s, requests/s from 8 concurrent clients). Ratios are what to read.
#   bench/service_vs_inprocess.sh [BUILD_DIR] [THREADS] [service_bench flags...]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
threads=${2:-1}
shift 2 || shift $#
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
log=$(mktemp)
"$build/service/ggufd" serve --listen 127.0.0.1:0 --metrics-port -1 \
  --model "$model" --threads "$threads" 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
port=$(ggufd_port "$log" "$server")
"$build/bench/service_bench" --server "127.0.0.1:$port" --model "$model" \
  --threads "$threads" "$@"
