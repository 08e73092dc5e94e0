#!/usr/bin/env bash
# The main job on the embedded default: inspect the default model and show
# how it tokenizes a prompt. (Later: serve it and stream a demo answer.)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ggufd="$root/build/service/ggufd"
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
"$ggufd" inspect "$model" | sed -n '1,12p'
if "$ggufd" tokenize --help >/dev/null 2>&1; then
  prompt='Hello from ggufd! Tokenizers turn text into ids.'
  echo "tokenize: $prompt"
  "$ggufd" tokenize -m "$model" --json "$prompt"
fi
