#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, seeded from
# ../shared/testdata (the tokenizer from its text inputs); new corpus entries
# go to a scratch folder.
set -euo pipefail
build=$1 seconds=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data="$root/../shared/testdata"
status=0
for fuzzer in "$build"/tests/fuzz/*_fuzzer; do
  [[ -x $fuzzer ]] || continue
  name=$(basename "$fuzzer")
  scratch=$(mktemp -d)
  case $name in
    tokenizer_fuzzer)
      # Text seeds (the vocab test inputs, copied because libFuzzer reads
      # whole folders) and short inputs: 64 KB GGUF seeds made every run a
      # quadratic merge over binary noise (~1,300 runs in 45 s; with these,
      # ~26,000 in 15 s).
      mkdir "$scratch/seeds"
      cp "$data"/llama.cpp-vocab/*.inp "$scratch/seeds/"
      seeds=("$scratch/seeds") max_len=4096 ;;
    model_metadata_fuzzer)
      # stories260K as a vocab-only file (tensor count 0, the first 16 KB:
      # all its metadata), so the seed parses within max_len.
      mkdir "$scratch/seeds"
      head -c 16384 "$data/models/stories260K.gguf" >"$scratch/seeds/meta.gguf"
      printf '\0\0\0\0\0\0\0\0' | dd of="$scratch/seeds/meta.gguf" bs=1 seek=8 \
        conv=notrunc status=none
      seeds=("$scratch/seeds" "$data/kernels") max_len=65536 ;;
    gbnf_fuzzer)
      # llama.cpp's grammars (no text after them: the fuzzer adds it).
      seeds=("$data/llama.cpp-grammars") max_len=8192 ;;
    *)
      seeds=("$data/kernels" "$data/nonconforming" "$data/legacy/gguf-v1")
      max_len=65536 ;;
  esac
  mkdir "$scratch/corpus"
  echo "--- $name"
  if ! "$fuzzer" "$scratch/corpus" "${seeds[@]}" -max_total_time="$seconds" \
      -max_len="$max_len" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
      2>"$scratch.log"; then
    tail -40 "$scratch.log"
    status=1
  else
    grep -E '^(Done|stat::number_of_executed_units)' "$scratch.log" || true
  fi
  rm -rf "$scratch" "$scratch.log"
done
exit $status
