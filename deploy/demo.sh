#!/usr/bin/env bash
# The main job on the embedded default model: show what it is, then stream a
# demo answer to a chat prompt. (When the gRPC service lands, this starts
# `ggufd serve` and streams the answer through a client instead.)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ggufd="$root/build/service/ggufd"
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
"$ggufd" inspect "$model" | sed -n '1p'
question=${GGUFD_DEMO_QUESTION:-"What are three things that make a good API?"}
echo "user: $question"
printf 'assistant: '
"$ggufd" run -m "$model" --temp 0.3 --seed 7 -n 160 \
  -p "<|im_start|>user
$question<|im_end|>
<|im_start|>assistant
"
