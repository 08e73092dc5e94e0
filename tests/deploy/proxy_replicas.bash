# Sourced by the proxy stages (mesh_nginx.sh, mesh_envoy.sh): two real
# ggufd replicas on loopback, a temporary folder and the cleanup of every
# process started, and the run of proxy_checks.py through a proxy.
# (Not a *.sh file: tests/run_all.sh runs each tests/deploy/*.sh as a stage.)
#
# require_proxy NAME BIN HINT: fails the stage when BIN is not an executable
#   (setup installs every proxy it can run here); HINT says where it comes
#   from.
# proxy_init NAME: checks what every proxy stage needs, makes $work and sets
#   the EXIT trap that kills $pids, prints the logs on failure and the
#   stage's wall time.
# start_replicas: starts replicas a and b; sets port[], metrics[], pid[].
# free_port: a free loopback port (for proxies that cannot report port 0).
# wait_port PORT: until something listens there (10 s at most).
# run_checks PROXY_ADDR ACCESS_LOG: proxy_checks.py, exit status of the stage.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ggufd_bin=${GGUFD_BIN:-$root/build/service/ggufd}
models=${GGUFD_MODELS_DIR:-$root/models}
model=$models/SmolLM2-135M-Instruct.Q4_1.gguf
python=${PYTHON:-python3}
stage_start=$SECONDS
pids=()
declare -A port metrics pid

require_proxy() {
  if [[ ! -x $2 ]]; then
    echo "FAIL $1: no proxy at $2 ($3)"
    exit 1
  fi
}

proxy_init() {
  stage=$1
  local need
  for need in "$ggufd_bin" "$model"; do
    [[ -e $need ]] || { echo "FAIL $stage: missing $need"; exit 1; }
  done
  "$python" -c 'import ggufd' 2>/dev/null || {
    echo "FAIL $stage: the Python client is not installed (clients/python/setup.sh)"
    exit 1
  }
  work=$(mktemp -d)
  # nginx's workers drop root for nobody and must reach their temp folders.
  chmod 755 "$work"
  trap proxy_cleanup EXIT
}

proxy_cleanup() {
  local status=$? p f
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if ((status != 0)); then
    for f in "$work"/*.log "$work"/*/*.log; do
      [[ -e $f ]] || continue
      echo "--- $f (last 20 lines)"
      tail -n 20 "$f"
    done
  fi
  rm -rf "$work"
  echo "$stage: wall time $((SECONDS - stage_start)) s"
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  local _
  for _ in $(seq 100); do
    "$python" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
      "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL $stage: nothing listens on port $1"
  return 1
}

# log_field LOG FIELD: FIELD of ggufd's "listening" log line, once there.
log_field() {
  "$python" - "$1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("msg") == "listening":
        print(j[sys.argv[2]])
EOF
}

# Two replicas: one compute thread each (two cores), any free ports. Each
# runs under a quiet subshell that waits for it, so bash prints no "Killed"
# notice when the failover checks SIGKILL it.
start_replicas() {
  local r _
  for r in a b; do
    (
      "$ggufd_bin" serve --model "$model" --threads 1 --listen 127.0.0.1:0 \
        --metrics-port 0 2>"$work/$r.log" &
      echo $! >"$work/$r.pid"
      wait $! || true
    ) 2>/dev/null &
    pids+=("$!")
  done
  for r in a b; do
    for _ in $(seq 100); do
      [[ -s $work/$r.pid ]] && break
      sleep 0.05
    done
    pid[$r]=$(cat "$work/$r.pid")
    pids=("${pid[$r]}" "${pids[@]}")  # killed first: its subshell then ends
  done
  for r in a b; do
    for _ in $(seq 600); do
      port[$r]=$(log_field "$work/$r.log" port)
      [[ -n ${port[$r]} ]] && break
      kill -0 "${pid[$r]}" 2>/dev/null || break
      sleep 0.1
    done
    [[ -n ${port[$r]} ]] || { echo "FAIL $stage: replica $r did not start"; exit 1; }
    metrics[$r]=$(log_field "$work/$r.log" metrics_port)
  done
}

run_checks() {
  "$python" "$root/tests/deploy/proxy_checks.py" --label "$stage" \
    --proxy "$1" --access-log "$2" \
    --replica "a,127.0.0.1:${port[a]},${metrics[a]},$work/a.log,${pid[a]}" \
    --replica "b,127.0.0.1:${port[b]},${metrics[b]},$work/b.log,${pid[b]}"
}
