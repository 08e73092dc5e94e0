#!/usr/bin/env bash
# Prefill (pp512) and decode (tg128) tokens/s of ggufd and of the reference
# (llama.cpp via node-llama-cpp) in the same run, at 1 and 2 threads, for the
# default model (Q4_1), the default model requantized by `ggufd quantize` to
# Q8_0 (cached in models/) and to pure Q6_K (cached in models/.cache/; its
# 576-wide rows are no multiple of 256, so only ffn_down is Q6_K and the other
# matrices fall back to Q8_0, as with llama-quantize), and Gemma 3 270M
# Q4_K_M (Q4_K, Q5_0, Q6_K, Q8_0; skipped when it was never fetched). Runs alternate between the two sides so machine noise hits both;
# the ratio column is what to read.
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
q6k_model="$root/models/.cache/SmolLM2-135M-Instruct.Q6_K.gguf"
gemma_model="$root/models/gemma-3-270m-q4_k_m.gguf"
[[ -s $q8_model ]] || "$ggufd" quantize "$default_model" "$q8_model" Q8_0 >&2
if [[ ! -s $q6k_model ]]; then
  mkdir -p "$(dirname "$q6k_model")"
  "$ggufd" quantize "$default_model" "$q6k_model" Q6_K --pure >&2
fi
models=("$default_model" "$q8_model" "$q6k_model")
[[ -s $gemma_model ]] && models+=("$gemma_model")

printf '| model | threads | ggufd pp512 | ref pp512 | ratio | ggufd tg128 | ref tg128 | ratio |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for model in "${models[@]}"; do
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
