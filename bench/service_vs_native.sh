#!/usr/bin/env bash
# Serving speed of ggufd (gRPC, through the Python client) against the native
# llama-server (HTTP streaming /completion) on the same model and thread count,
# both on 127.0.0.1 with one slot and a 2048-token context:
#   - time to first token for a short (~10 tokens) and a long (~600 tokens)
#     prompt, fresh (prompt cache off) and repeated (the whole prompt cached);
#   - streamed decode tokens/s over 128 greedy tokens (EOS ignored), next to
#     the in-process figure of `ggufd bench` / llama-bench, so the cost of
#     streaming shows on each side.
# Each figure is the median of 3 runs; the two servers take turns.
#   bench/service_vs_native.sh [BUILD_DIR] [THREADS] [MODEL]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
threads=${2:-1}
model=${3:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}
native="$root/bench/.cache/bin"
ctx=2048
[[ -x $native/llama-server ]] || { echo "$native/llama-server missing: run bench/native/build.sh" >&2; exit 1; }

servers_init

"$build/service/ggufd" serve --model "$model" --listen 127.0.0.1:0 \
  --metrics-port -1 --threads "$threads" --context-length "$ctx" \
  2>"$logs/ggufd.log" &
pids+=($!)
http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$native/llama-server" -m "$model" --host 127.0.0.1 --port "$http_port" \
  -t "$threads" -c "$ctx" -np 1 >"$logs/llama-server.log" 2>&1 &
pids+=($!)

# Both load their model before answering: ggufd logs "listening" with its
# port once the model is in, llama-server's /health turns 200.
grpc_port=$(ggufd_port "$logs/ggufd.log" "${pids[0]}")
for _ in $(seq 600); do
  curl -sf "127.0.0.1:$http_port/health" >/dev/null && break
  kill -0 "${pids[1]}" 2>/dev/null || break
  sleep 0.1
done
curl -sf "127.0.0.1:$http_port/health" >/dev/null ||
  { echo "llama-server did not start" >&2; tail -n 20 "$logs/llama-server.log" >&2; exit 1; }

ours_inproc=$("$build/service/ggufd" bench -m "$model" --threads "$threads" \
  --pp 16 --tg 128 --json)
theirs_inproc=$("$native/llama-bench" -m "$model" -t "$threads" -p 0 -n 128 \
  -r 3 -o json 2>/dev/null)

python3 - "$grpc_port" "$http_port" "$ours_inproc" "$theirs_inproc" <<'PY'
import http.client, json, statistics, sys, time
import ggufd

grpc_port, http_port = sys.argv[1], int(sys.argv[2])
ours_inproc = json.loads(sys.argv[3])["tg_tokens_per_s"]
theirs_inproc = max(json.loads(sys.argv[4])[0]["samples_ts"])
RUNS = 3
SHORT = "Once upon a time, in a quiet village by the sea,"
LONG = " ".join(f"Note {i}: the {c} {a} walked {i % 9 + 2} miles to the market."
                for i, (c, a) in enumerate(
                    (c, a) for c in ("red", "blue", "green", "small", "tall")
                    for a in ("fox", "horse", "sailor", "baker", "owl", "cat", "monk", "fisher")))
client = ggufd.Client(f"127.0.0.1:{grpc_port}", timeout=600)


def ours(prompt, n, cache):
    """ggufd over gRPC: (ttft s, streamed tokens/s, prompt tokens, cached)."""
    start, stamps, info = time.perf_counter(), [], None
    with client.generate(prompt, max_tokens=n, temperature=0, ignore_eos=True,
                         reuse_cache=cache, token_ids=True) as generation:
        for event in generation:
            if isinstance(event, ggufd.Started):
                info = (event.prompt_tokens, event.cached_tokens)
            elif isinstance(event, ggufd.Chunk):
                # Tokens that arrive in one chunk share its time stamp.
                stamps += [time.perf_counter()] * len(event.tokens)
    return finish(start, stamps, len(stamps), *info)


def theirs(prompt, n, cache):
    """llama-server over HTTP streaming, same tuple."""
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=600)
    body = {"prompt": prompt, "n_predict": n, "stream": True, "cache_prompt": cache,
            "temperature": 0, "top_k": 1, "ignore_eos": True}
    start, stamps, info = time.perf_counter(), [], None
    conn.request("POST", "/completion", json.dumps(body),
                 {"Content-Type": "application/json"})
    response = conn.getresponse()
    for line in response:
        if not line.startswith(b"data: "):
            continue
        event = json.loads(line[6:])
        if event.get("stop"):
            n = event["timings"]["predicted_n"]
            info = (event["tokens_evaluated"], event["timings"]["cache_n"])
            break
        # One event per token, except that a token ending inside a UTF-8
        # character waits for the next one: the final count comes from stop.
        stamps.append(time.perf_counter())
    conn.close()
    return finish(start, stamps, n, *info)


def finish(start, stamps, n, prompt_tokens, cached):
    rate = (n - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0
    return stamps[0] - start, rate, prompt_tokens, cached


def median(side, prompt, n, cache):
    if cache:
        side(prompt, 1, True)  # puts the prompt in the cache
    runs = [side(prompt, n, cache) for _ in range(RUNS)]
    return [statistics.median(r[i] for r in runs) for i in range(2)] + list(runs[-1][2:])


for side in (ours, theirs):  # warm-up: page in the weights
    side(SHORT, 8, False)

rows = []
for label, prompt in (("short", SHORT), ("long", LONG)):
    for cache in (False, True):
        results = [median(side, prompt, 4, cache) for side in (ours, theirs)]
        (o, _, tokens, o_cached), (t, _, _, t_cached) = results
        what = f"TTFT {label} ({tokens} tok) " + (
            f"repeated (cached {o_cached} / {t_cached})" if cache else "fresh")
        rows.append((what + ", ms", o * 1e3, t * 1e3))
o_rate = median(ours, SHORT, 128, True)[1]
t_rate = median(theirs, SHORT, 128, True)[1]
rows.append(("decode streamed, tok/s", o_rate, t_rate))
rows.append(("decode in-process (ggufd bench / llama-bench), tok/s",
             ours_inproc, theirs_inproc))
rows.append(("streamed / in-process", o_rate / ours_inproc, t_rate / theirs_inproc))

print("| measure | ggufd (gRPC) | llama-server (HTTP) | ggufd / llama-server |")
print("|---|---|---|---|")
for what, o, t in rows:
    print(f"| {what} | {o:.2f} | {t:.2f} | {o / t:.2f} |")
print("\nTTFT: lower is better (ratio < 1: ggufd faster); tok/s: higher is better.")
client.close()
PY
