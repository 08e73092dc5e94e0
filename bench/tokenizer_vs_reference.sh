#!/usr/bin/env bash
# Tokenization throughput of ggufd vs llama.cpp (node-llama-cpp) on the same
# few MB of mixed text, with the same model. Prints one JSON object:
#   {"bytes": B, "ggufd_mb_per_s": X, "reference_mb_per_s": Y, "ratio": X/Y}
# The machine is noisy: compare ratios, not absolute numbers.
#
# usage: bench/tokenizer_vs_reference.sh [BUILD_DIR] [MODEL]
#   BUILD_DIR defaults to build (holding bench/tokenizer_bench),
#   MODEL to models/SmolLM2-135M-Instruct.Q4_1.gguf.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build}"
model="${2:-$repo/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
bench="$build/bench/tokenizer_bench"
[[ -x "$bench" ]] || { echo "no $bench: build the tokenizer_bench target" >&2; exit 1; }
[[ -f "$model" ]] || { echo "no model $model" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bench" --write-text="$work/text.txt"
"$bench" --model="$model" --benchmark_filter='^BM_Encode' \
  --benchmark_repetitions=3 --benchmark_format=json >"$work/ggufd.json"
node "$repo/tests/reference/reference.mjs" bench-tokenize --model "$model" \
  --file "$work/text.txt" --repeat 3 >"$work/reference.json"

python3 - "$work/ggufd.json" "$work/reference.json" "$work/text.txt" <<'PY'
import json, os, sys
ours = json.load(open(sys.argv[1]))
runs = [b for b in ours["benchmarks"] if b.get("run_type") == "iteration"]
best = max(b["bytes_per_second"] for b in runs) / 1e6
ref = json.load(open(sys.argv[2]))
print(json.dumps({
    "bytes": os.path.getsize(sys.argv[3]),
    "ggufd_mb_per_s": round(best, 3),
    "reference_mb_per_s": round(ref["mb_per_s"], 3),
    "ratio": round(best / ref["mb_per_s"], 3),
}))
PY
