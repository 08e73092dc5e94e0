# Sourced by the bench scripts that start servers.

# servers_init: a temporary $logs folder and a $pids list whose processes are
# killed (and the folder removed) when the script exits.
servers_init() {
  logs=$(mktemp -d)
  pids=()
  trap servers_cleanup EXIT
}
servers_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}

# ggufd_port LOG PID: waits (up to 60 s) for
# the ggufd with process id PID to log "listening" (it does once its model
# is in) and prints its gRPC port; prints the log and returns 1 if it exits
# or never listens.
ggufd_port() {
  local log=$1 pid=$2 port=
  for _ in $(seq 600); do
    port=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try: j = json.loads(line)
    except ValueError: continue
    if j.get("msg") == "listening": print(j["port"])' "$log")
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    echo "ggufd did not start" >&2
    cat "$log" >&2
    return 1
  fi
  echo "$port"
}
