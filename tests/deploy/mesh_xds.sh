#!/usr/bin/env bash
# Stage: ggufd in a proxyless xDS service mesh, on loopback. Starts the test
# control plane (tests/mesh/xds, go-control-plane), two ggufd replicas with
# --xds (gRPC's xDS server: each fetches its server Listener from the
# control plane), and a Go client dialing xds:///ggufd that checks:
#   replica-listener   each replica serves once it has its Listener
#   spread             calls spread over both replicas (peer addresses and
#                      each replica's ggufd_requests_total agree)
#   drain / undrain    a replica set DRAINING in EDS gets no new calls; set
#                      HEALTHY again, it gets its share back
#   cached-config      with the control plane killed (SIGKILL), calls still
#                      succeed on both replicas from the cached configuration,
#   replica-keeps-serving  and the replicas keep serving
# then, with the control plane still dead, a third replica starting with
# --xds: it stays up, its plaintext --health-listen port answers SERVING, its
# main port serves nothing, and it logs why. Prints one line per check and
# exits non-zero on any failure.
# Env: GGUFD_BIN, GGUFD_MODELS_DIR (as tests/run_all.sh sets them);
# MESH_XDS_KEEP=1 keeps the logs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ggufd_bin=${GGUFD_BIN:-$root/build/service/ggufd}
models=${GGUFD_MODELS_DIR:-$root/models}
model=$models/SmolLM2-135M-Instruct.Q4_1.gguf
control_plane=$root/tools/bin/xds-control-plane
mesh_client=$root/tools/bin/xds-mesh-client
start=$SECONDS

for need in "$ggufd_bin" "$model"; do
  [[ -e $need ]] || { echo "FAIL mesh_xds: missing $need"; exit 1; }
done
if [[ ! -x $control_plane || ! -x $mesh_client ]]; then
  command -v go >/dev/null ||
    { echo "FAIL mesh_xds: no Go toolchain to build tests/mesh/xds (deploy/setup.sh installs it)"; exit 1; }
  (cd "$root" && deploy/setup.d/30-mesh-xds.sh)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((status != 0)); then
    for f in "$work"/*.log; do
      [[ -e $f ]] || continue
      echo "--- $f (last 20 lines)"
      tail -n 20 "$f"
    done
  fi
  if [[ -n ${MESH_XDS_KEEP:-} ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
  echo "mesh_xds: wall time $((SECONDS - start)) s"
}
trap cleanup EXIT

failures=0
check() {  # check NAME OK DETAIL
  if [[ $2 == 1 ]]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; failures=$((failures + 1)); fi
}

# A free loopback port from the OS: an xDS server's Listener is named after
# its address, so the replicas need fixed ports known to the control plane.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_line FILE REGEX SECONDS [PID]: waits until FILE has a line matching
# REGEX (giving up early when PID exits).
wait_line() {
  local until=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2>/dev/null; do
    ((SECONDS < until)) || return 1
    [[ -z ${4:-} ]] || kill -0 "$4" 2>/dev/null || return 1
    sleep 0.1
  done
}

# ggufd's "listening" log line field, e.g. metrics_port.
listening_field() {
  grep '"msg":"listening"' "$1" | jq -r ".$2"
}

# bootstrap FILE NODE_ID XDS_ADDR [server]: an xDS bootstrap; a server's has
# the Listener name template (gRPC's default, spelled out).
bootstrap() {
  local template=
  [[ ${4:-} == server ]] &&
    template=', "server_listener_resource_name_template": "grpc/server?xds.resource.listening_address=%s"'
  cat >"$1" <<EOF
{
  "xds_servers": [{"server_uri": "$3", "channel_creds": [{"type": "insecure"}],
                   "server_features": ["xds_v3"]}],
  "node": {"id": "$2", "locality": {"region": "loopback"}}$template
}
EOF
}

# The control plane, knowing the replicas' fixed addresses up front. It runs
# under a subshell that waits for it with its stderr discarded, so bash's
# "Killed" notice does not show when the client SIGKILLs it.
addr_a=127.0.0.1:$(free_port)
addr_b=127.0.0.1:$(free_port)
(
  "$control_plane" -v -replicas "$addr_a,$addr_b" >"$work/control.out" 2>"$work/control.log" &
  echo $! >"$work/control.pid"
  wait $! || true
) 2>/dev/null &
pids+=($!)
wait_line "$work/control.pid" . 5 || { echo "FAIL mesh_xds: the control plane did not start"; exit 1; }
control_pid=$(<"$work/control.pid")
pids+=("$control_pid")
wait_line "$work/control.out" '"xds"' 10 "$control_pid" ||
  { echo "FAIL mesh_xds: the control plane did not start"; exit 1; }
xds_addr=$(jq -r .xds "$work/control.out")
control_addr=$(jq -r .control "$work/control.out")

# Two replicas, one compute thread each (two cores).
declare -A addr metrics pid
addr[a]=$addr_a
addr[b]=$addr_b
for r in a b; do
  bootstrap "$work/bootstrap-$r.json" "ggufd-replica-$r" "$xds_addr" server
  "$ggufd_bin" serve --xds --xds-bootstrap "$work/bootstrap-$r.json" \
    --listen "${addr[$r]}" --metrics-port 0 --model "$model" --threads 1 \
    2>"$work/replica-$r.log" &
  pid[$r]=$!
  pids+=($!)
done
for r in a b; do
  wait_line "$work/replica-$r.log" '"msg":"listening"' 60 "${pid[$r]}" ||
    { echo "FAIL mesh_xds: replica $r did not start"; exit 1; }
  metrics[$r]=$(listening_field "$work/replica-$r.log" metrics_port)
done

bootstrap "$work/bootstrap-client.json" ggufd-mesh-client "$xds_addr"
GRPC_XDS_BOOTSTRAP=$work/bootstrap-client.json "$mesh_client" scenario \
  -target xds:///ggufd -replicas "$addr_a,$addr_b" \
  -metrics-ports "${metrics[a]},${metrics[b]}" -control "$control_addr" \
  -control-pid "$control_pid" -node-id ggufd-mesh-client >"$work/scenario.out" \
  2>"$work/client.log" || true
cat "$work/scenario.out"
failures=$((failures + $(grep -c '^FAIL' "$work/scenario.out" || true)))
passes=$(grep -c '^PASS' "$work/scenario.out" || true)
check scenario-ran "$( ((passes >= 10)) && echo 1 || echo 0)" "$passes client checks passed"

# The replicas logged their serving status from gRPC's notifier, and
# survived the control plane.
for r in a b; do
  ok=0
  grep -q '"msg":"xds serving"' "$work/replica-$r.log" && kill -0 "${pid[$r]}" 2>/dev/null && ok=1
  check serving-status-log "$ok" "replica $r logged \"xds serving\" for ${addr[$r]} and is still running"
done

# A replica starting while the control plane is down.
addr_c=127.0.0.1:$(free_port)
bootstrap "$work/bootstrap-c.json" ggufd-replica-c "$xds_addr" server
"$ggufd_bin" serve --xds --xds-bootstrap "$work/bootstrap-c.json" \
  --listen "$addr_c" --health-listen 127.0.0.1:0 --metrics-port -1 \
  --model "$model" --threads 1 2>"$work/replica-c.log" &
pid_c=$!
pids+=("$pid_c")
wait_line "$work/replica-c.log" '"msg":"listening"' 60 "$pid_c" ||
  { echo "FAIL mesh_xds: replica c did not start"; exit 1; }
health_c=127.0.0.1:$(listening_field "$work/replica-c.log" health_port)
ok=0
wait_line "$work/replica-c.log" '"msg":"xds not serving"' 10 && ok=1
check no-control-plane-log "$ok" "replica c logged \"xds not serving\": $(grep -m1 '"msg":"xds not serving"' \
  "$work/replica-c.log" | jq -r .error | cut -c1-150)"
"$mesh_client" probe -addr "$addr_c" -health-addr "$health_c" | tee "$work/probe.out" || true
failures=$((failures + $(grep -c '^FAIL' "$work/probe.out" || true)))
ok=0
kill -0 "$pid_c" 2>/dev/null && ok=1
check no-control-plane-alive "$ok" "replica c (pid $pid_c) still running without a control plane"

if ((failures > 0)); then
  echo "mesh_xds: $failures check(s) failed"
  exit 1
fi
echo "mesh_xds: all checks passed"
