#!/usr/bin/env bash
# Random-weight models with the shapes of TinyLlama 1.1B, Llama 3.2 1B and
# Qwen2.5 0.5B, for benchmarks at sizes the fetched models do not reach: each
# is written as F16 by build/bench/make_shape_model and requantized by
# `ggufd quantize` to the types people run (Q4_0, Q4_K_M, Q8_0), into the
# git-ignored models/bench/. Files that exist are kept, so reruns are cheap.
#   bench/shape_models.sh [BUILD_DIR]     (SHAPES="tinyllama ..." picks shapes)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
out="$root/models/bench"
read -r -a shapes <<<"${SHAPES:-tinyllama llama32-1b qwen25-05b}"
mkdir -p "$out"
for shape in "${shapes[@]}"; do
  f16="$out/$shape.F16.gguf"
  if [[ ! -s $f16 ]]; then
    echo "writing $f16" >&2
    "$build/bench/make_shape_model" --shape "$shape" --out "$f16" >&2
  fi
  for type in Q4_0 Q4_K_M Q8_0; do
    q="$out/$shape.$type.gguf"
    [[ -s $q ]] && continue
    echo "quantizing $q" >&2
    "$build/service/ggufd" quantize "$f16" "$q" "$type" >&2
  done
done
ls -l "$out"
