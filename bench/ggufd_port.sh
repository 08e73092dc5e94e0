# Sourced by the bench scripts. ggufd_port LOG PID: waits (up to 60 s) for
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
