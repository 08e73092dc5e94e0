#!/usr/bin/env bash
# What sessions save in a chat: two conversations (A and B) of 5 turns each,
# interleaved A1 B1 A2 B2 ... A5 B5 (user turns of ~60-150 tokens, answers of
# exactly N greedy tokens: the end-of-turn tokens are banned by logit bias on
# both servers), on one ggufd runtime, in three ways:
#   sessions     ggufd, a session per conversation, each turn sends only the
#                new user message (chat prompt);
#   no-sessions  ggufd, each turn sends the whole conversation so far: the
#                runtime's one shared cache thrashes between A and B;
#   llama-server the native build (bench/.cache/bin/llama-server, skipped with
#                a message when absent), /v1/chat/completions streaming with
#                cache_prompt, the whole conversation each turn, with -np 1
#                and with -np 2 (a slot per conversation; -c is scaled so a
#                slot holds the same context as ggufd), and -np 1 without
#                its host-RAM prompt cache (--cache-ram 0).
# Reports time to first token (client side) of turns 2-5, median and mean per
# mode, the ratios sessions / others, cached tokens per turn, and memory per
# session (ListSessions kv_bytes, bytes per token, ggufd RSS growth).
# Exits non-zero on failures only (RPC/HTTP errors, short answers, missing
# sessions), never on the ratios.
#   bench/session_chat.sh [BUILD_DIR] [THREADS] [MODEL]
#   env: GGUFD_BENCH_REPS (runs of the whole chat per mode, default 3),
#        GGUFD_BENCH_CTX (context, default 2048), GGUFD_BENCH_ANSWER_TOKENS
#        (default 48), GGUFD_BENCH_SERVE_ARGS (extra `ggufd serve` flags,
#        e.g. "--session-memory 1000000"), GGUFD_BENCH_DUMP (a file to write
#        every turn's record to, JSON)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
threads=${2:-2}
model=${3:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}
native="$root/bench/.cache/bin"
ctx=${GGUFD_BENCH_CTX:-2048}
reps=${GGUFD_BENCH_REPS:-3}
answer_tokens=${GGUFD_BENCH_ANSWER_TOKENS:-48}
ggufd="$build/service/ggufd"

[[ -x $ggufd ]] || { echo "$ggufd missing: build it first" >&2; exit 1; }
grep -q ListSessions "$ggufd" ||
  { echo "$ggufd has no ggufd.v1.Sessions service: rebuild it with sessions" >&2; exit 1; }

# Python stubs of the current proto/ in the git-ignored bench/.cache/ (not
# the installed Python client, which may lag behind proto/), regenerated when
# a .proto changes.
stubs="$root/bench/.cache/pystubs"
digest=$(cd "$root/proto" && find ggufd -name '*.proto' | LC_ALL=C sort |
  xargs sha256sum | sha256sum | cut -d' ' -f1)
if [[ ! -f $stubs/.stamp || $(cat "$stubs/.stamp") != "$digest" ]]; then
  rm -rf "$stubs"
  mkdir -p "$stubs"
  (cd "$root/proto" && python3 -m grpc_tools.protoc -I . --python_out="$stubs" \
    --grpc_python_out="$stubs" ggufd/v1/*.proto)
  # Regular packages, so they win over the installed `ggufd` client.
  touch "$stubs/ggufd/__init__.py" "$stubs/ggufd/v1/__init__.py"
  echo "$digest" >"$stubs/.stamp"
fi

servers_init

# shellcheck disable=SC2086  # GGUFD_BENCH_SERVE_ARGS is a list of flags
"$ggufd" serve --model "$model" --listen 127.0.0.1:0 --metrics-port -1 \
  --threads "$threads" --context-length "$ctx" ${GGUFD_BENCH_SERVE_ARGS:-} \
  2>"$logs/ggufd.log" &
ggufd_pid=$!
pids+=("$ggufd_pid")

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
llama_args=()
if [[ -x $native/llama-server ]]; then
  # name:slots:extra flags. np1-cram0 turns off the host-RAM prompt cache
  # (--cache-ram, 8 GiB by default) that lets one slot restore the other
  # conversation's state: the plain one-cache thrash, like no-sessions.
  for config in "np1:1:" "np2:2:" "np1-cram0:1:--cache-ram 0"; do
    IFS=: read -r name np extra <<<"$config"
    port=$(free_port)
    # shellcheck disable=SC2086  # $extra is a list of flags
    "$native/llama-server" -m "$model" --host 127.0.0.1 --port "$port" \
      -t "$threads" -c $((ctx * np)) -np "$np" $extra >"$logs/llama-server-$name.log" 2>&1 &
    pids+=($!)
    llama_args+=(--llama "$name=$port=$!")
  done
else
  echo "note: $native/llama-server missing (bench/native/build.sh builds it):" \
    "llama-server modes skipped" >&2
fi

# ggufd logs "listening" with its port once the model is in; llama-server's
# /health turns 200.
grpc_port=$(ggufd_port "$logs/ggufd.log" "$ggufd_pid")
for ((i = 1; i < ${#llama_args[@]}; i += 2)); do
  IFS='=' read -r name port pid <<<"${llama_args[i]}"
  for _ in $(seq 600); do
    curl -sf "127.0.0.1:$port/health" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! curl -sf "127.0.0.1:$port/health" >/dev/null; then
    code=running
    kill -0 "$pid" 2>/dev/null || { code=0; wait "$pid" || code=$?; }
    echo "llama-server ($name) did not start (exit status: $code)" >&2
    tail -n 20 "$logs/llama-server-$name.log" >&2
    exit 1
  fi
done

status=0
PYTHONPATH="$stubs${PYTHONPATH:+:$PYTHONPATH}" python3 "$root/bench/session_chat.py" \
  --grpc "127.0.0.1:$grpc_port" --ggufd-pid "$ggufd_pid" --reps "$reps" \
  --answer-tokens "$answer_tokens" --threads "$threads" --ctx "$ctx" \
  ${GGUFD_BENCH_DUMP:+--dump "$GGUFD_BENCH_DUMP"} "${llama_args[@]}" || status=$?
if ((status != 0)); then
  echo "--- ggufd log (last 30 lines)" >&2
  tail -n 30 "$logs/ggufd.log" >&2
fi
exit "$status"
