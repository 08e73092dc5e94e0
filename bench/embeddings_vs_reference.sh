#!/usr/bin/env bash
# Embeddings per second of ggufd (`ggufd serve`, Inference/Embed over gRPC)
# against llama.cpp in the same run, on the same 32 texts (10 to 70 tokens),
# model and thread count:
#   batch 1  - 32 calls of one text each;
#   batch 32 - one call with all 32 texts.
# References: node-llama-cpp's embedding context (reference.mjs bench-embed;
# it evaluates one text at a time, so its batch-1 and batch-32 figures are
# the same run), and the native llama-server (--embeddings --pooling last,
# 32 slots, so it batches the texts of one request) when bench/native/build.sh
# has built it. Each figure is the best of 3 after a warm-up; the ratio
# columns are ggufd / reference.
#   bench/embeddings_vs_reference.sh [BUILD_DIR] [THREADS] [MODEL...]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
threads=${2:-2}
shift 2 || shift $#
models=("$@")
if ((${#models[@]} == 0)); then
  models=("$root/models/SmolLM2-135M-Instruct.Q4_1.gguf")
  gemma="$root/models/gemma-3-270m-q4_k_m.gguf"
  [[ -s $gemma ]] && models+=("$gemma")
fi
native="$root/bench/.cache/bin/llama-server"
texts=$(mktemp)
python3 - >"$texts" <<'PY'
import json
words = ("the river city market small green quiet engine question answer "
         "bright winter garden number system letter morning station").split()
texts = []
for i in range(32):
    n = 6 + (i * 7) % 40  # words
    texts.append(" ".join(words[(i * 3 + j * 5) % len(words)] for j in range(n)) + ".")
print(json.dumps(texts))
PY

printf '| model | threads | batch | ggufd emb/s | node-llama-cpp emb/s | ratio | llama-server emb/s | ratio |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for model in "${models[@]}"; do
  servers_init
  "$build/service/ggufd" serve --model "$model" --listen 127.0.0.1:0 \
    --metrics-port -1 --threads "$threads" 2>"$logs/ggufd.log" &
  pids+=($!)
  grpc_port=$(ggufd_port "$logs/ggufd.log" "${pids[-1]}")
  http_port=0
  if [[ -x $native ]]; then
    http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$native" -m "$model" --host 127.0.0.1 --port "$http_port" -t "$threads" \
      --embeddings --pooling last -np 32 -c 8192 -b 2048 -ub 512 \
      >"$logs/llama-server.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 600); do
      curl -sf "127.0.0.1:$http_port/health" >/dev/null && break
      sleep 0.1
    done
    curl -sf "127.0.0.1:$http_port/health" >/dev/null ||
      { echo "llama-server did not start" >&2; tail -n 20 "$logs/llama-server.log" >&2; exit 1; }
  fi
  node_result=$(node "$root/tests/reference/reference.mjs" bench-embed \
    --model "$model" --threads "$threads" <"$texts")
  python3 - "$model" "$threads" "$grpc_port" "$http_port" "$node_result" "$texts" <<'PY'
import http.client, json, os, sys, time
import grpc
from ggufd.v1 import inference_pb2, inference_pb2_grpc

model, threads, grpc_port, http_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
node = json.loads(sys.argv[5])["embeddings_per_s"]
texts = json.load(open(sys.argv[6]))
stub = inference_pb2_grpc.InferenceStub(grpc.insecure_channel(f"127.0.0.1:{grpc_port}"))

def ggufd(batch):
    for i in range(0, len(texts), batch):
        r = stub.Embed(inference_pb2.EmbedRequest(texts=texts[i:i + batch]), timeout=600)
        assert len(r.embeddings) == len(texts[i:i + batch])

def llama_server(batch):
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=600)
    for i in range(0, len(texts), batch):
        conn.request("POST", "/v1/embeddings", json.dumps({"input": texts[i:i + batch]}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, body[:500]
        assert len(json.loads(body)["data"]) == len(texts[i:i + batch])
    conn.close()

def rate(run, batch):
    run(batch)  # warm-up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run(batch)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best

for batch in (1, 32):
    ours = rate(ggufd, batch)
    native = rate(llama_server, batch) if http_port else None
    cells = [os.path.basename(model), threads, str(batch), f"{ours:.1f}", f"{node:.1f}",
             f"{ours / node:.2f}",
             f"{native:.1f}" if native else "-", f"{ours / native:.2f}" if native else "-"]
    print("| " + " | ".join(cells) + " |", flush=True)
PY
  servers_cleanup
  trap - EXIT
done
rm -f "$texts"
