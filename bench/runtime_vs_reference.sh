#!/usr/bin/env bash
# Prefill (pp512) and decode (tg128) tokens/s of ggufd and of the reference
# (llama.cpp via node-llama-cpp) in the same run, at 1 and 2 threads, for the
# default model and a Q8_0 model (the default model requantized by
# `ggufd quantize`, cached in models/). Runs alternate between the two sides
# so machine noise hits both; the ratio column is what to read.
#   bench/runtime_vs_reference.sh [BUILD_DIR] [THREADS...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
shift || true
threads=("$@")
((${#threads[@]})) || threads=(1 2)
ggufd="$build/service/ggufd"
ref=(node "$root/tests/reference/reference.mjs")
default_model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
q8_model="$root/models/SmolLM2-135M-Instruct.Q8_0.gguf"
[[ -s $q8_model ]] || "$ggufd" quantize "$default_model" "$q8_model" Q8_0 >&2

printf '| model | threads | ggufd pp512 | ref pp512 | ratio | ggufd tg128 | ref tg128 | ratio |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for model in "$default_model" "$q8_model"; do
  for t in "${threads[@]}"; do
    ours=$("$ggufd" bench -m "$model" --threads "$t" --pp 512 --tg 128 --json)
    theirs=$("${ref[@]}" bench-speed --model "$model" --threads "$t" --pp 512 --tg 128)
    python3 - "$model" "$t" "$ours" "$theirs" <<'PY'
import json, os, sys
model, t, ours, theirs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
pp, rpp = ours["pp_tokens_per_s"], theirs["pp_tokens_per_s"]
tg, rtg = ours["tg_tokens_per_s"], theirs["tg_tokens_per_s"]
print(f"| {os.path.basename(model)} | {t} | {pp:.1f} | {rpp:.1f} | {pp / rpp:.2f} "
      f"| {tg:.1f} | {rtg:.1f} | {tg / rtg:.2f} |")
PY
  done
done
