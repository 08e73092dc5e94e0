#!/usr/bin/env bash
# Prefill (pp512) and decode (tg128) tokens/s of ggufd against the native
# llama.cpp and ik_llama.cpp llama-bench (bench/native/build.sh builds them
# with -march=native; node-llama-cpp in runtime_vs_reference.sh is a generic
# build). The three run one after the other for each model and thread count,
# so machine noise hits all of them; each reports its best of 3 timed runs
# after a warm-up. ik_llama.cpp runs with -rtr 1 (its row-interleaved repack,
# its fastest CPU layout); each tool otherwise keeps its defaults.
#   bench/runtime_vs_native.sh [BUILD_DIR] [THREADS...]
# Models: SmolLM2 Q4_1 and its Q8_0 copy, Gemma 3 270M Q4_K_M, and the
# TinyLlama-shaped models of bench/shape_models.sh when present; or the
# space-separated GGUFD_BENCH_MODELS. GGUFD_BENCH_DEPTH=N measures both with
# N tokens already in the KV cache (llama-bench -d N; ik_llama.cpp has no pp
# at depth, only tg through -gp N,128).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
shift || true
threads=("$@")
((${#threads[@]})) || threads=(1 2)
ggufd="$build/service/ggufd"
native="$root/bench/.cache/bin"
depth=${GGUFD_BENCH_DEPTH:-0}
for exe in llama-bench ik-llama-bench; do
  [[ -x $native/$exe ]] || { echo "$native/$exe missing: run bench/native/build.sh" >&2; exit 1; }
done

if [[ -n ${GGUFD_BENCH_MODELS:-} ]]; then
  read -r -a models <<<"$GGUFD_BENCH_MODELS"
else
  q4_1="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
  q8_0="$root/models/SmolLM2-135M-Instruct.Q8_0.gguf"
  [[ -s $q8_0 ]] || "$ggufd" quantize "$q4_1" "$q8_0" Q8_0 >&2
  models=("$q4_1" "$q8_0")
  for m in "$root/models/gemma-3-270m-q4_k_m.gguf" \
    "$root"/models/bench/tinyllama.{Q4_0,Q4_K_M,Q8_0}.gguf; do
    [[ -s $m ]] && models+=("$m")
  done
fi

ours_depth=()
llama_depth=()
ik_tests=(-p 512 -n 128)
if ((depth > 0)); then
  llama_depth=(-d "$depth")
  ik_tests=(-p 0 -n 0 -gp "$depth,128")
  if "$ggufd" bench --help | grep -q -- --depth; then
    ours_depth=(--depth "$depth")
  else
    echo "note: ggufd bench has no --depth yet; its columns are left empty" >&2
    ours_depth=(skip)
  fi
  echo "depth $depth: ik_llama.cpp measures tg only (-gp $depth,128)" >&2
fi

# Prints "pp tg" tokens/s (best sample; "-" when not measured) of one run's
# JSON: ggufd's object or llama-bench's array of tests.
best() {
  python3 -c '
import json, sys
doc = json.loads(sys.stdin.read() or "null")
pp = tg = "-"
if isinstance(doc, dict):
    pp, tg = doc["pp_tokens_per_s"], doc["tg_tokens_per_s"]
elif isinstance(doc, list):
    for test in doc:
        if test["n_gen"] == 0:
            pp = max(test["samples_ts"])
        else:  # tg, or ik_llama.cpp -gp (tg after a prompt)
            tg = max(test["samples_ts"])
print(pp, tg)'
}

errlog=$(mktemp)
trap 'rm -f "$errlog"' EXIT
# Runs one side; prints "pp tg", or "- -" (and why on stderr) if it failed.
measure() {
  local out
  if out=$("$@" 2>"$errlog"); then
    best <<<"$out"
  else
    echo "failed: $*" >&2
    tail -n 5 "$errlog" >&2
    echo "- -"
  fi
}

suffix=""
((depth > 0)) && suffix=" @d$depth"
printf '| model | t | ggufd pp512%s | llama.cpp | ik_llama | vs llama.cpp | vs ik' "$suffix"
printf ' | ggufd tg128%s | llama.cpp | ik_llama | vs llama.cpp | vs ik |\n' "$suffix"
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for model in "${models[@]}"; do
  for t in "${threads[@]}"; do
    ours="- -"
    if [[ ${ours_depth[*]-} != skip ]]; then
      ours=$(measure "$ggufd" bench -m "$model" --threads "$t" --pp 512 \
        --tg 128 "${ours_depth[@]}" --json)
    fi
    llama=$(measure "$native/llama-bench" -m "$model" -t "$t" -p 512 -n 128 \
      -r 3 "${llama_depth[@]}" -o json)
    ik=$(measure "$native/ik-llama-bench" -m "$model" -t "$t" "${ik_tests[@]}" \
      -r 3 -rtr 1 -o json)
    read -r ours_pp ours_tg <<<"$ours"
    read -r llama_pp llama_tg <<<"$llama"
    read -r ik_pp ik_tg <<<"$ik"
    python3 - "$(basename "$model")" "$t" "$ours_pp" "$ours_tg" \
      "$llama_pp" "$llama_tg" "$ik_pp" "$ik_tg" <<'PY'
import sys
model, t, *v = sys.argv[1:]
def num(s): return None if s == "-" else float(s)
def rate(x): return "-" if x is None else f"{x:.1f}"
def ratio(a, b): return "-" if a is None or b is None else f"{a / b:.2f}"
ours_pp, ours_tg, llama_pp, llama_tg, ik_pp, ik_tg = map(num, v)
cells = [model, t]
for o, l, i in ((ours_pp, llama_pp, ik_pp), (ours_tg, llama_tg, ik_tg)):
    cells += [rate(o), rate(l), rate(i), ratio(o, l), ratio(o, i)]
print("| " + " | ".join(cells) + " |")
PY
  done
done
