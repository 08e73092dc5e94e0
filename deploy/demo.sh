#!/usr/bin/env bash
# The main job on the embedded default model: start `ggufd serve` with it on
# loopback, stream a demo answer through gRPC with ggufctl, then drain the
# server with SIGTERM.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ggufd="$root/build/service/ggufd"
ggufctl="$root/build/clients/cpp/ggufctl"
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
address=${GGUFD_DEMO_ADDRESS:-127.0.0.1:50551}
question=${GGUFD_DEMO_QUESTION:-"What are three things that make a good API?"}

"$ggufd" serve --model "$model" --listen "$address" --metrics-port -1 \
  2>"${TMPDIR:-/tmp}/ggufd-demo.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do  # the port opens once the model is loaded
  "$ggufctl" -s "$address" status >/dev/null 2>&1 && break
  sleep 0.1
done
"$ggufctl" -s "$address" status
echo "user: $question"
printf 'assistant: '
"$ggufctl" -s "$address" chat -n 160 -t 0.3 --seed 7 --stats "$question"
